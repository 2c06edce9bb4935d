"""What every flow needs: the config and workspace for a run, and the task runner it asks for."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from corpusmill.config import CorpusmillConfig, PipelineConfig, RunnerConfig, load_config
from corpusmill.workspace import Workspace
from tasks.common import storage
from tasks.common.errors import IntegrityError

SNAPSHOT_NAME = re.compile(r"config-([0-9a-f]{16})\.yaml")


@dataclass(frozen=True)
class RunContext:
    """The parsed config, the chosen pipeline and the workspace of one flow run."""

    config: CorpusmillConfig
    pipeline: PipelineConfig
    workspace: Workspace

    @classmethod
    def load(cls, config_path: str, pipeline: str, workspace: str | None = None) -> RunContext:
        """Parse the config file and resolve the workspace (argument, else the file's `workspace`).

        A flow started without the CLI (a deployment's worker, a notebook, a test) that has no
        MLFLOW_TRACKING_URI gets the config's / workspace's store, never MLflow's `./mlflow.db`."""
        config = load_snapshot(config_path) if is_snapshot(config_path) else load_config(config_path)
        ws = Workspace.at(workspace or config.workspace, config.data_uri)
        os.environ.setdefault("MLFLOW_TRACKING_URI", config.mlflow_tracking_uri or ws.mlflow_tracking_uri)
        return cls(config=config, pipeline=config.pipeline(pipeline), workspace=ws)

    def stage_uri(self, stage: str) -> str:
        """Dataset folder of one of this pipeline's stages."""
        return self.workspace.stage_uri(self.pipeline.name, stage)

    def model_fields(self, name: str) -> dict[str, Any]:
        """What every per-model job (train, evaluate, register) names of model `name`: pipeline,
        model name, registered name, its config and its folder."""
        return {
            "pipeline": self.pipeline.name,
            "model_name": name,
            "registered_name": self.pipeline.registered_name(name),
            "model": self.pipeline.models[name],
            "model_dir": str(self.workspace.model_dir(self.pipeline.name, name)),
        }


def make_task_runner(runner: RunnerConfig) -> Any:
    """Threads on this machine by default; `prefect-dask`'s DaskTaskRunner for a cluster."""
    if runner.task_runner == "dask":  # CORPUSMILL_DASK_ADDRESS (set by the stack's env file) wins
        runner = runner.model_copy(update={"dask_address": os.environ.get("CORPUSMILL_DASK_ADDRESS") or runner.dask_address})
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as error:  # pragma: no cover - depends on the optional extra
            raise RuntimeError("runner.task_runner: dask needs `pip install corpusmill[dask]`") from error
        if runner.dask_address:
            return DaskTaskRunner(address=runner.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": runner.max_workers, "processes": True})
    return ThreadPoolTaskRunner(max_workers=runner.max_workers)


def summary(manifest: Any, reused: bool) -> dict[str, Any]:
    """The small dict a stage flow returns: where its output is, rows, counters, reuse."""
    return {"uri": manifest.uri, "rows": manifest.rows, "content_hash": manifest.content_hash, "counters": manifest.counters, "reused": reused}


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from name parts."""
    text = "-".join(parts).lower()
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-")


def snapshot_config(config_path: str, workspace_root: str | os.PathLike[str]) -> tuple[str, str]:
    """Freeze the config file for one run: its bytes copied (atomically, once per content) to
    `<workspace>/runs/config-<sha256[:16]>.yaml`; returns (snapshot path, sha256[:16]).

    Every stage of the run reads the snapshot, so an edit of the file during a run cannot give
    stages different configs; the hash names the exact config a run used."""
    data = Path(config_path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = Path(workspace_root) / "runs" / f"config-{digest}.yaml"
    if not target.exists():
        storage.write_bytes(str(target), data)
    return str(target), digest


def is_snapshot(config_path: str) -> bool:
    """True for a config snapshot written by `snapshot_config` (`<workspace>/runs/config-<sha16>.yaml`)."""
    path = Path(config_path)
    return path.parent.name == "runs" and SNAPSHOT_NAME.fullmatch(path.name) is not None


def load_snapshot(config_path: str) -> CorpusmillConfig:
    """A config snapshot parsed once per process (every flow of a run reads the same snapshot, and a
    snapshot never changes: its name is its content's sha256), after checking that its bytes still
    hash to its name (IntegrityError naming the file otherwise). Returns a deep copy, so no flow can
    change what another one reads."""
    data = Path(config_path).read_bytes()
    expected = SNAPSHOT_NAME.fullmatch(Path(config_path).name).group(1)
    if hashlib.sha256(data).hexdigest()[:16] != expected:
        raise IntegrityError(f"{config_path}: content does not match its sha256 name; the snapshot was changed")
    return _parse_snapshot(str(Path(config_path).resolve())).model_copy(deep=True)


@functools.lru_cache(maxsize=8)
def _parse_snapshot(config_path: str) -> CorpusmillConfig:
    return load_config(config_path)
