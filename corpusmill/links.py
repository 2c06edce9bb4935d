"""Addresses of the two UIs, for links printed by the CLI and Prefect link artifacts.

MLflow 3.17 decides an experiment page's view (GenAI "Usage"/traces vs the runs table) from the
browser-wide workflow type: the URL parameter `workflowType`, else the browser's localStorage
(`mlflow.workflowType_v1`), default `genai`. The experiment tag `mlflow.experimentKind` is not read
while that switch exists. Links to experiments and runs therefore carry `workflowType=machine_learning`.
"""

from __future__ import annotations

import os
from urllib.parse import quote

MLFLOW_UI_ENV = "CORPUSMILL_MLFLOW_UI_URL"
PREFECT_UI_ENV = "CORPUSMILL_PREFECT_UI_URL"
DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"
DEFAULT_PREFECT_UI = "http://127.0.0.1:4200"
ML_VIEW = "workflowType=machine_learning"


def mlflow_ui_url() -> str:
    """Base URL of the MLflow UI: `$CORPUSMILL_MLFLOW_UI_URL`, else http://127.0.0.1:5000."""
    return (os.environ.get(MLFLOW_UI_ENV) or DEFAULT_MLFLOW_UI).rstrip("/")


def prefect_ui_url() -> str:
    """Base URL of the Prefect UI: `$CORPUSMILL_PREFECT_UI_URL`, else http://127.0.0.1:4200."""
    return (os.environ.get(PREFECT_UI_ENV) or DEFAULT_PREFECT_UI).rstrip("/")


def experiments_url(base: str | None = None) -> str:
    """The MLflow experiments list, in the machine-learning view."""
    return f"{base or mlflow_ui_url()}/#/experiments?{ML_VIEW}"


def experiment_url(experiment_id: str, base: str | None = None) -> str:
    """An MLflow experiment page that opens on its runs table."""
    return f"{base or mlflow_ui_url()}/#/experiments/{experiment_id}/runs?{ML_VIEW}"


def run_url(experiment_id: str, run_id: str, base: str | None = None) -> str:
    """An MLflow run page."""
    return f"{base or mlflow_ui_url()}/#/experiments/{experiment_id}/runs/{run_id}?{ML_VIEW}"


def model_version_url(name: str, version: str, base: str | None = None) -> str:
    """A registered model version's page (its description is the model card)."""
    return f"{base or mlflow_ui_url()}/#/models/{quote(name)}/versions/{version}?{ML_VIEW}"


def flow_run_url(flow_run_id: str, base: str | None = None) -> str:
    """A Prefect flow run page."""
    return f"{base or prefect_ui_url()}/runs/flow-run/{flow_run_id}"
