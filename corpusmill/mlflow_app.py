"""The MLflow tracking server of `make ui`, opening experiments on their runs.

MLflow 3.17 chooses an experiment's landing view per browser, not per experiment: the URL
parameter `workflowType`, else the local-storage entry `mlflow.workflowType_v1`, else `genai`
(its GenAI "Usage" view, empty for LSTM runs). The experiment tag `mlflow.experimentKind` is read
only behind a feature flag that 3.17 turns on, so it changes nothing. This app is MLflow's own
server with one addition: the UI page it serves presets that local-storage entry to
`machine_learning` when the browser has none, so a click in the experiment list opens the runs
table; a person who switches to GenAI keeps that choice. Started as
`mlflow server --app-name corpusmill-ui` (entry point group `mlflow.app` in pyproject.toml).
"""

from __future__ import annotations

from flask import Response
from mlflow.server import app as flask_app
from mlflow.server.fastapi_app import create_fastapi_app

WORKFLOW_STORAGE_KEY = "mlflow.workflowType_v1"
PRESET_SCRIPT = (
    "<script>try{if(!localStorage.getItem('" + WORKFLOW_STORAGE_KEY + "'))"
    "localStorage.setItem('" + WORKFLOW_STORAGE_KEY + "',JSON.stringify('machine_learning'))}catch(e){}</script>"
).encode()


def prefer_model_training(response: Response) -> Response:
    """Insert the preset script at the start of `<head>` of an HTML page MLflow serves; other
    responses pass unchanged."""
    if response.mimetype != "text/html" or response.status_code != 200:
        return response
    response.direct_passthrough = False
    body = response.get_data()
    if b"<head>" not in body or PRESET_SCRIPT in body:
        return response
    response.set_data(body.replace(b"<head>", b"<head>" + PRESET_SCRIPT, 1))
    response.headers.pop("ETag", None)
    return response


flask_app.after_request(prefer_model_training)
app = create_fastapi_app(flask_app)
