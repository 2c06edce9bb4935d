"""Small MLflow helpers shared by train, evaluate and register: experiments and flat params."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow


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
    return mlflow.start_run(run_id=run_id)
