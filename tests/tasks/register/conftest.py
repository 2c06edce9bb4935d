"""A real MLflow tracking store for the register tests: SQLite plus an artifact folder in a tmp dir.

One store per test module (creating the SQLite schema takes seconds); tests use distinct model names.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service import utils as tracking_utils


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point MLflow (API and MLFLOW_TRACKING_URI) at `<tmp>/mlflow.db`, artifacts in `<tmp>/mlartifacts`."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    previous, previous_env = tracking_utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")  # None when unset
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.create_experiment("corpusmill-tests", artifact_location=(root / "mlartifacts").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        yield root
    # restore what was there, unset included: `set_tracking_uri(get_tracking_uri())` would pin the
    # resolved default (and export it) for every later test of the session
    mlflow.set_tracking_uri(previous)
    if previous_env is not None:
        os.environ["MLFLOW_TRACKING_URI"] = previous_env


@pytest.fixture()
def client(mlflow_store: Path) -> MlflowClient:
    """A client of the module's store."""
    return MlflowClient(tracking_uri=f"sqlite:///{mlflow_store}/mlflow.db")
