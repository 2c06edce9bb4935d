"""The mechanism every stage shares: cache key, reuse of a finished output, commit of new parts."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tasks.common.dataset import DatasetHandle, InputRef, Manifest, PartResult, cache_key, stable_hash
from tasks.common.errors import IntegrityError, warn
from tasks.common.version import code_version


def config_hash(*sections: BaseModel | dict[str, Any] | list[Any] | str | None) -> str:
    """Stable hash of the config sections a stage depends on."""
    dumped = [s.model_dump(mode="json") if isinstance(s, BaseModel) else s for s in sections]
    return stable_hash(dumped)


@dataclass
class StageRun:
    """One run of a stage writing one dataset: what it reads, its cache key, and its output."""

    stage: str
    out: DatasetHandle
    inputs: list[InputRef]
    config_hash: str
    code_version: str
    key: str
    started: float = field(default_factory=time.time)

    def reusable(self) -> Manifest | None:
        """The existing manifest when the output is finished with the same cache key and its files
        match what the manifest recorded; otherwise None (a damaged output is logged as a warning
        naming the file and the cause, and recomputed)."""
        return reusable_manifest(self.out, self.key, self.stage)

    def commit(
        self, parts: list[PartResult], counters: dict[str, Any] | None = None, extra_files: list[str] | None = None,
    ) -> Manifest:
        """Publish the parts (and extra files) written under this run's key; the manifest last."""
        return self.out.commit(
            stage=self.stage, key=self.key, parts=parts, inputs=self.inputs,
            config_hash=self.config_hash, code_version=self.code_version,
            started=self.started, counters=counters, extra_files=extra_files,
        )


def reusable_manifest(out: DatasetHandle, key: str, stage: str) -> Manifest | None:
    """`out`'s manifest when it has cache key `key` and every recorded file is intact, else None.
    A damaged output (unreadable manifest, missing/resized/changed part) is a warning naming the
    file and the cause, e.g. `.../clean/part-00001.parquet: size 1234 != 5678 recorded; recomputing clean`."""
    try:
        manifest = out.read_manifest()
        if manifest is None or manifest.cache_key != key:
            return None
        problems = out.verify()
    except IntegrityError as error:
        problems = [str(error)]
    for problem in problems:
        warn(f"{problem}; recomputing {stage}")
    return None if problems else manifest


def start_stage(
    stage: str, out_uri: str, inputs: list[DatasetHandle], config: str,
    code_packages: tuple[str, ...], extra_inputs: list[InputRef] | None = None,
) -> StageRun:
    """Prepare a stage run: lineage refs of finished inputs, config hash, code version, cache key."""
    refs = [handle.input_ref() for handle in inputs] + list(extra_inputs or [])
    version = code_version(*code_packages)
    return StageRun(
        stage=stage, out=DatasetHandle(out_uri), inputs=refs, config_hash=config,
        code_version=version, key=cache_key(stage, refs, config, version),
    )


def merge_counters(parts: list[PartResult]) -> dict[str, Any]:
    """Sum numeric counters of shard results key by key (nested dicts merged recursively)."""
    total: dict[str, Any] = {}
    for part in parts:
        _add_into(total, part.counters)
    return total


def _add_into(total: dict[str, Any], counters: dict[str, Any]) -> None:
    for key, value in counters.items():
        if isinstance(value, dict):
            _add_into(total.setdefault(key, {}), value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total[key] = value
