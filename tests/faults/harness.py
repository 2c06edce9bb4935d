"""Helpers of the fault-injection suite: a tiny pipeline, real `corpusmill run` subprocesses in
their own process group (killed for real with SIGKILL), and what to compare after a crash.

Generic on purpose (other test modules of this folder use them too):
- `tiny_config(folder, rows=300)` writes a one-pipeline config (`tiny`, a few hundred demo rows,
  1 epoch) with its workspace at `folder/ws`;
- `Cli` starts `python -m corpusmill.cli run ...` (PYTHONPATH of this repo, offline environment,
  `start_new_session=True`), waits for a path to appear, kills its group, waits for the end;
- `fingerprint(ws)` hashes what a run must reproduce byte for byte (Parquet parts and bundle
  files); `registry(ws)` reads the MLflow registry of a workspace. The fixtures `prefect_api` (one
  Prefect server for the session) and `reference` (a finished run of the tiny config) are in conftest.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PIPELINE = "tiny"
MODEL = "sentiment"
REGISTERED = f"{PIPELINE}-{MODEL}"
WAIT_S = 600.0  # an upper bound for one tiny run on a loaded machine; never a measured assertion

TINY = """
workspace: {workspace}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  {pipeline}:
    source: {{uri: "demo://reviews", format: demo, label_column: label, rows: {rows}, seed: 3}}
    clean: [normalize, {{length: {{min_words: 3}}}}, exact_dedup, near_dedup, pii]
    audit:
      model: {{bootstrap: 10, max_counterfactual_gap: null, max_subgroup_auc_gap: null}}
    tokenize: {{vocab_size: 300}}
    models:
      {model}:
        kind: lstm_classifier
        embedding_dim: 16
        hidden_size: 16
        train: {{epochs: 1, batch_size: 32, checkpoint_every_steps: 3, progress: false}}
"""


def tiny_config(folder: Path, rows: int = 300) -> Path:
    """Write the tiny one-pipeline config into `folder` (workspace `folder/ws`); return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipelines.yaml"
    path.write_text(TINY.format(workspace=folder / "ws", pipeline=PIPELINE, model=MODEL, rows=rows), encoding="utf-8")
    return path


def child_environment(prefect_api: str | None, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: this one without Prefect/MLflow locations (the CLI
    derives them from the workspace), offline switches, this repo first on PYTHONPATH, and
    `PREFECT_API_URL` when given (a shared server; None: the run starts its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_")) and k not in ("CORPUSMILL_FAULT", "CORPUSMILL_HOME")}
    env.update(
        {
            "DO_NOT_TRACK": "true",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    env.update(extra)
    return env


@dataclass
class Cli:
    """One `corpusmill run` subprocess, leader of its own process group; output in `log`."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, config: Path, env: dict[str, str], *args: str, name: str = "run") -> Cli:
        """Start `python -m corpusmill.cli run tiny --config <config> <args>`; output to `<config dir>/<name>.log`."""
        log = config.parent / f"{name}.log"
        with open(log, "ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "corpusmill.cli", "run", PIPELINE, "--config", str(config), *args],
                cwd=REPO,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, log)

    def wait(self, timeout: float = WAIT_S) -> int:
        """Wait for the end (killing the group if it outlives `timeout`); return the exit code."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise

    def wait_for(self, ready: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        """Poll `ready()` every 20 ms until it is true (True) or the process ended first (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return True
            if self.process.poll() is not None:
                return ready()
            time.sleep(0.02)
        raise TimeoutError(f"condition not met within {timeout:.0f} s; see {self.log}")

    def kill_group(self) -> None:
        """SIGKILL the whole process group (the CLI and every child it did not move elsewhere)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def run_cli(config: Path, env: dict[str, str], *args: str, name: str = "run") -> tuple[int, str]:
    """Run the CLI to its end; return (exit code, output)."""
    cli = Cli.start(config, env, *args, name=name)
    return cli.wait(), cli.output()


def fingerprint(ws: Path) -> dict[str, str]:
    """sha256 of every file a run must reproduce byte for byte: the Parquet parts under `data/`
    (work areas excluded) and the files of each saved model bundle."""
    files = [p for p in (ws / "data").rglob("*.parquet") if "_work" not in p.parts]
    files += [p for p in (ws / "models").glob("*/*/bundle/*") if p.is_file()]
    return {str(p.relative_to(ws)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def registry(ws: Path) -> dict[str, Any]:
    """The MLflow registry of a workspace: versions (number -> aliases, tags) of the tiny model,
    the status of every run of the pipeline's experiment, and the alias-log lines."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{ws / 'mlflow.db'}")
    versions = {str(v.version): v for v in client.search_model_versions(f"name = '{REGISTERED}'")}
    detail = {n: client.get_model_version(REGISTERED, n) for n in versions}
    experiment = client.get_experiment_by_name(PIPELINE)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    log = ws / "registry" / "alias_log.jsonl"
    return {
        "versions": {n: sorted(mv.aliases) for n, mv in detail.items()},
        "tags": {n: dict(mv.tags) for n, mv in detail.items()},
        "runs": {r.info.run_id: r.info.status for r in runs},
        "train_runs": [r for r in runs if r.data.tags.get("cache_key")],
        "alias_log": log.read_text(encoding="utf-8").splitlines() if log.exists() else [],
        "client": client,
    }
