"""The production path: `corpusmill run` against a real Prefect server and a real MLflow server, both on
PostgreSQL, with two pipelines running concurrently (what SQLite cannot do)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from tests.flows.tiny_config import write_tiny_config

pytestmark = pytest.mark.integration


def _corpusmill(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("corpusmill")), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_concurrent_pipelines_on_prefect_and_mlflow_servers_backed_by_postgres(servers, tmp_path):
    config = write_tiny_config(tmp_path)
    env = {**os.environ, "PREFECT_API_URL": servers["prefect_api"], "MLFLOW_TRACKING_URI": servers["mlflow"], "PREFECT_HOME": str(tmp_path / "prefect-client")}
    runs = [_corpusmill("run", name, "--config", str(config), "--workspace", str(tmp_path / "ws"), env=env) for name in ("demo-reviews", "demo-shop")]
    outputs = [run.communicate(timeout=1200)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-4000:]
    assert "demo-reviews-sentiment v1 alias=champion" in outputs[0]
    assert "scores/recommendations" in outputs[1]

    api = servers["prefect_api"]
    flow_runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}).raise_for_status().json()
    flows = {f["id"]: f["name"] for f in httpx.post(f"{api}/flows/filter", json={}).raise_for_status().json()}
    by_flow: dict[str, list[str]] = {}
    for run in flow_runs:
        by_flow.setdefault(flows[run["flow_id"]], []).append(run["state_type"])
    assert by_flow["corpus-to-model"] == ["COMPLETED", "COMPLETED"]
    for stage in ("ingest", "clean", "audit", "tokenize", "train", "evaluate", "register"):
        assert by_flow[stage] == ["COMPLETED", "COMPLETED"], stage
    assert by_flow["score-recommendations"] == ["COMPLETED"]
    artifacts = httpx.post(f"{api}/artifacts/filter", json={}).raise_for_status().json()
    keys = {a["key"] for a in artifacts}
    assert {"demo-reviews-audit", "demo-reviews-clean-steps", "demo-shop-recommender-alias"} <= keys

    client = MlflowClient(tracking_uri=servers["mlflow"])
    champion = client.get_model_version_by_alias("demo-reviews-sentiment", "champion")
    assert champion.tags["pipeline"] == "demo-reviews"
    assert (champion.description or "").startswith("# Model card")
    run_artifacts = {a.path for a in client.list_artifacts(champion.run_id)}
    assert {"corpus_audit", "model_card.md"} <= run_artifacts
