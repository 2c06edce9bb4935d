"""The stage contract: what every stage declares, and the mechanism they all share.

A stage (`Stage` below) declares its name, the packages its code version starts from, its
outputs with their cache keys (`plan`: config sections + input datasets + derived code version,
cheap, nothing computed), a `compute` that writes and commits those outputs, and the `result`
it reports. The base owns the rest, once for every stage: cache keys (`start`), verified reuse
(`reuse`: every output finished under the same key and its files intact), work folders, atomic
commit and manifest (`StageRun.commit`), counters (`merge_counters`), and the Prefect wrapping
(`reuse_in_parent`: a reused stage is one cached task run `<pipeline>-<stage>` in the parent flow,
without paying for a subflow; a stage to compute runs as its subflow). See docs/architecture.md.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel

from tasks.common.dataset import DatasetHandle, InputRef, Manifest, PartResult, cache_key, stable_hash
from tasks.common.errors import IntegrityError, quiet_warnings, warn
from tasks.common.version import code_version

JobT = TypeVar("JobT")
OutT = TypeVar("OutT")


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

    def commit(self, parts: list[PartResult], counters: dict[str, Any] | None = None, extra_files: list[str] | None = None) -> Manifest:
        """Publish the parts (and extra files) written under this run's key; the manifest last."""
        return self.out.commit(
            stage=self.stage,
            key=self.key,
            parts=parts,
            inputs=self.inputs,
            config_hash=self.config_hash,
            code_version=self.code_version,
            started=self.started,
            counters=counters,
            extra_files=extra_files,
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
    stage: str, out_uri: str, inputs: list[DatasetHandle], config: str, code_packages: tuple[str, ...], extra_inputs: list[InputRef] | None = None
) -> StageRun:
    """Prepare a stage run: lineage refs of finished inputs, config hash, code version, cache key."""
    refs = [handle.input_ref() for handle in inputs] + list(extra_inputs or [])
    version = code_version(*code_packages)
    return StageRun(stage=stage, out=DatasetHandle(out_uri), inputs=refs, config_hash=config, code_version=version, key=cache_key(stage, refs, config, version))


class Unit(Protocol):
    """One output of a stage (a dataset, a trained model, an evaluation, a registration) with its
    cache key; `reusable()` gives the finished output when it is current and intact, else None."""

    key: str

    def reusable(self) -> Any | None:
        """The finished output (manifest, record, outcome) when it can be reused, else None."""
        ...


@dataclass
class WorkUnit(Generic[JobT, OutT]):
    """A unit that is not a dataset (one training, one evaluation, one registration): its job, its
    cache key, and `find(job, key)`, which returns the finished output under that key when it is
    current and intact, else None. `reusable()` asks quietly: the stage's own compute checks again
    and says what it found."""

    job: JobT
    key: str
    find: Callable[[JobT, str], OutT | None]

    def reusable(self) -> OutT | None:
        """The finished output when it can be reused, else None."""
        with quiet_warnings():
            return self.find(self.job, self.key)


class StageContext(Protocol):
    """What a stage reads of a run: the typed config, the chosen pipeline and the workspace
    (`flows.runtime.RunContext` in a flow; anything with these attributes in a test)."""

    config: Any
    pipeline: Any
    workspace: Any

    def stage_uri(self, stage: str) -> str:
        """Dataset folder of one of this pipeline's stages."""
        ...

    def model_fields(self, name: str) -> dict[str, Any]:
        """The fields every per-model job shares (pipeline, model and registered names, config, folder)."""
        ...


class Stage(ABC):
    """The contract every stage implements (see the module doc).

    Subclasses set `name` (the Prefect run is `<pipeline>-<name>`) and `packages` (the code
    version is derived from them and every project module they import), and implement `plan`,
    `compute` and `result`. `run()` is the whole stage (what its subflow calls);
    `reuse_in_parent()` is the cheap path a parent flow takes first."""

    name: ClassVar[str]
    packages: ClassVar[tuple[str, ...]]

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def plan(self) -> list[Unit]:
        """The stage's outputs with their cache keys; nothing computed yet (cheap)."""

    @abstractmethod
    def compute(self, units: list[Any]) -> list[Any]:
        """Write and commit every output of `units` (in order); returns their finished outputs."""

    @abstractmethod
    def result(self, units: list[Any], outputs: list[Any], reused: bool) -> dict[str, Any]:
        """The stage's summary from its finished outputs; also publishes its artifacts and
        enforces its gates (so a reused stage reports and gates exactly like a computed one)."""

    def start(self, output: str, inputs: list[DatasetHandle], *sections: Any, extra_inputs: list[InputRef] | None = None) -> StageRun:
        """A dataset output `output` of this stage: lineage of `inputs`, hash of the config
        `sections`, derived code version, cache key."""
        return start_stage(output, self.ctx.stage_uri(output), inputs, config_hash(*sections), self.packages, extra_inputs)

    def reuse(self, units: list[Any]) -> list[Any] | None:
        """The finished outputs of `units` when every one is reusable, else None (stops at the first miss)."""
        found = []
        for unit in units:
            if (done := unit.reusable()) is None:
                return None
            found.append(done)
        return found

    def run(self) -> dict[str, Any]:
        """The whole stage: reuse its outputs when all are current, else compute them; its result."""
        units = self.plan()
        if (found := self.reuse(units)) is not None:
            return self.result(units, found, reused=True)
        return self.result(units, self.compute(units), reused=False)

    def reuse_in_parent(self, pipeline: str) -> dict[str, Any] | None:
        """In a parent flow: when every output is reusable, the stage's result as one task run
        `<pipeline>-<name>` (state `Cached`, its artifacts attached); None when it must compute
        (then the caller runs its subflow, which plans again: a plan is cheap and stays correct)."""
        try:
            with quiet_warnings():  # the subflow checks again and says what it found
                units = self.plan()
                found = self.reuse(units)
        except Exception:  # e.g. a missing input: the subflow raises it where it belongs
            return None
        if found is None:
            return None
        from prefect import task  # Prefect only where a stage is wrapped
        from prefect.cache_policies import NONE
        from prefect.states import Completed

        result: dict[str, Any] = {}

        def reused(stage: str, keys: list[str]) -> Any:
            result.update(self.result(units, found, reused=True))
            return Completed(name="Cached", message=f"reused {stage}: {brief(result)} (cache keys {', '.join(keys)})")

        reused_task = task(reused, name="stage-reused", cache_policy=NONE, task_run_name=f"{pipeline}-{self.name}")
        reused_task(self.name, [str(unit.key)[:16] for unit in units])
        return result


def brief(result: dict[str, Any]) -> str:
    """One line of a stage's result for a state message: rows per dataset, else the models named,
    e.g. `clean 2802 rows, quarantine 198 rows` or `sentiment`."""
    if "rows" in result:
        return f"{result['rows']} rows"
    rows = [f"{name} {value['rows']} rows" for name, value in result.items() if isinstance(value, dict) and "rows" in value]
    return ", ".join(rows) or ", ".join(result) or "nothing to do"


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
