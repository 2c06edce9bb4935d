"""A real MLflow tracking store for the register tests: SQLite plus an artifact folder in a tmp dir.

One store per test module (creating the SQLite schema takes seconds); tests use distinct model names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.mlflow_store import tracking_uri


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point MLflow (API and MLFLOW_TRACKING_URI) at `<tmp>/mlflow.db`, artifacts in `<tmp>/mlartifacts`."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    with tracking_uri(uri):
        experiment = mlflow.create_experiment("corpusmill-tests", artifact_location=(root / "mlartifacts").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        yield root


@pytest.fixture()
def client(mlflow_store: Path) -> MlflowClient:
    """A client of the module's store."""
    return MlflowClient(tracking_uri=f"sqlite:///{mlflow_store}/mlflow.db")
