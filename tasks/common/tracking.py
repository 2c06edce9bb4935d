"""Small MLflow helpers shared by train, evaluate and register: experiments, flat params, and the
run lifecycle (a training run resumed after a crash, runs of dead processes ended as KILLED)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import psutil
from mlflow.exceptions import MlflowException

from tasks.common import storage

RUN_FILE = "mlflow_run.json"
OWNER_TAGS = ("corpusmill.host", "corpusmill.pid", "corpusmill.pid_started")


def ensure_experiment(name: str, artifact_root: Path) -> str:
    """The id of experiment `name`, created if new: with artifacts under `artifact_root/<name>` on
    a local store; against an MLflow server (http/https tracking URI) in the server's own artifact
    store (`--artifacts-destination`, e.g. S3), so clients need no shared folder."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    if mlflow.get_tracking_uri().startswith(("http://", "https://")):
        return mlflow.create_experiment(name)
    location = (artifact_root / name).resolve()
    location.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(name, artifact_location=location.as_uri())


def flatten_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config dict -> `{"a.b": "value"}` strings, as MLflow params want them."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = str(value)[:6000]
    return flat


def resume_run(run_id: str) -> mlflow.ActiveRun:
    """Re-open an existing MLflow run (e.g. the training run, to add evaluation and the model).

    MLflow refuses a run of another experiment than the active one, so the run's own experiment is
    made active first.
    """
    experiment_id = mlflow.MlflowClient().get_run(run_id).info.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    active = mlflow.start_run(run_id=run_id)
    mlflow.set_tags(owner_tags())
    return active


def owner_tags() -> dict[str, str]:
    """Tags naming the process that has a run open (host, pid, process start time), so that a later
    run can tell that the process died and end the run as KILLED (`end_orphaned_runs`)."""
    return dict(zip(OWNER_TAGS, (socket.gethostname(), str(os.getpid()), f"{psutil.Process().create_time():.2f}")))


def _owner_alive(tags: dict[str, str]) -> bool:
    """False only when the owner tags name a process of this host that is gone (or a reused pid)."""
    host, pid, started = (tags.get(t) for t in OWNER_TAGS)
    if host != socket.gethostname() or not pid:
        return True  # another machine's process, or a run opened by code that sets no owner: leave it
    try:
        return f"{psutil.Process(int(pid)).create_time():.2f}" == started
    except (psutil.NoSuchProcess, ValueError):
        return False


def end_orphaned_runs(experiment: str) -> list[str]:
    """End as KILLED every RUNNING run of `experiment` whose owner process (see `owner_tags`) died on
    this host, e.g. a training killed with SIGKILL. Returns their run ids (empty when none)."""
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return []
    client = mlflow.MlflowClient()
    ended = []
    for run in client.search_runs([found.experiment_id], filter_string="attributes.status = 'RUNNING'"):
        if not _owner_alive(run.data.tags):
            client.set_terminated(run.info.run_id, status="KILLED")
            ended.append(run.info.run_id)
    return ended


@contextmanager
def training_run(folder: Path, run_name: str) -> Iterator[mlflow.ActiveRun]:
    """The MLflow run of one training, in the active experiment: the run whose id is stored in
    `folder/mlflow_run.json` (a training resumed from its checkpoints logs into the same run, so its
    curves are whole), else a new run whose id is stored there. Ends FINISHED, or FAILED on error."""
    path = Path(folder) / RUN_FILE
    run_id = None
    if path.is_file():
        try:
            run_id = json.loads(path.read_text(encoding="utf-8"))["run_id"]
            mlflow.MlflowClient().get_run(run_id)
        except (ValueError, KeyError, MlflowException):
            run_id = None  # unreadable file, or a run no longer in the store: start a new one
    with mlflow.start_run(run_id=run_id, run_name=None if run_id else run_name, log_system_metrics=True) as run:
        if run_id is None:
            storage.write_text(str(path), json.dumps({"run_id": run.info.run_id}))
        mlflow.set_tags(owner_tags())
        yield run
