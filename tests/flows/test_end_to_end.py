"""The default pipelines at tiny size, end to end under one Prefect test backend and a real MLflow store.

Checks the walking skeleton's promises: every stage's dataset, rows in = kept + quarantined, the audit
report, registered versions with the champion alias, scores from the scheduled flows, a second run
that reuses everything and scores nothing new, and a fresh process that predicts raw text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.flows.tiny_config import write_tiny_config

PIPELINES = ("demo-reviews", "demo-news", "demo-shop")
MODELS = {"demo-reviews": "sentiment", "demo-news": "summarizer", "demo-shop": "recommender"}


def _run_all(config: Path, workspace: Path) -> dict[str, dict]:
    from flows.corpus_to_model import corpus_to_model_flow
    from flows.score_recommendations import score_recommendations_flow
    from flows.score_summaries import score_summaries_flow

    results = {}
    for name in PIPELINES:
        result = corpus_to_model_flow(pipeline=name, config_path=str(config), workspace=str(workspace))
        if name == "demo-news":
            result["scores/summaries"] = score_summaries_flow(pipeline=name, config_path=str(config), workspace=str(workspace))
        if name == "demo-shop":
            result["scores/recommendations"] = score_recommendations_flow(pipeline=name, config_path=str(config), workspace=str(workspace))
        results[name] = result
    return results


@pytest.fixture(scope="module")
def e2e(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    config = write_tiny_config(root)
    workspace = root / "ws"
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workspace}/mlflow.db"
    workspace.mkdir()
    started = datetime.now(UTC)
    try:
        first = _run_all(config, workspace)
        second = _run_all(config, workspace)
        yield {"root": root, "config": config, "ws": workspace, "first": first, "second": second, "started": started}
    finally:
        if old is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old


def test_every_stage_wrote_its_dataset_and_no_row_was_lost(e2e):
    data = e2e["ws"] / "data"
    for name in PIPELINES:
        for stage in ("raw", "clean", "quarantine", "audit", "tokens", f"evaluate/{MODELS[name]}"):
            assert (data / name / stage / "_manifest.json").is_file(), f"{name}/{stage} has no manifest"
        result = e2e["first"][name]
        assert result["raw"]["rows"] == result["clean"]["rows"] + result["quarantine"]["rows"] > 0
        assert result["tokens"]["rows"] == result["clean"]["rows"]


def test_the_planted_skew_is_in_the_audit_report(e2e):
    report = json.loads((e2e["ws"] / "data" / "demo-reviews" / "audit" / "report.json").read_text())
    assert {"groups", "filter_impact", "npmi", "gates"} <= set(report)
    flagged = [g for g in report["groups"] if g["gap_excludes_zero"] and abs(g["gap"]) > 0.1]
    assert flagged, "the demo's planted label skew should be flagged"
    assert (e2e["ws"] / "data" / "demo-reviews" / "audit" / "report.html").is_file()


def test_each_model_is_registered_and_champion(e2e):
    client = MlflowClient()
    for name, model in MODELS.items():
        version = client.get_model_version_by_alias(f"{name}-{model}", "champion")
        assert str(version.version) == "1"
        assert version.tags["pipeline"] == name
        assert version.tags["dataset_manifest_hash"]


def test_scoring_flows_wrote_partitions(e2e):
    for name, app in (("demo-news", "summaries"), ("demo-shop", "recommendations")):
        scored = e2e["first"][name][f"scores/{app}"]
        assert scored["new_rows"] > 0 and scored["total_rows"] == scored["new_rows"]
        files = list((e2e["ws"] / "data" / name / "scores" / app / "model_version=1").glob("*.parquet"))
        assert len(files) == 1


def test_second_run_reuses_every_stage_and_scores_nothing_new(e2e):
    for name in PIPELINES:
        second = e2e["second"][name]
        for stage in ("raw", "clean", "quarantine", "audit", "tokens"):
            assert second[stage]["reused"], f"{name}/{stage} was recomputed"
        registered = second["models"][MODELS[name]]["registered"]
        assert registered["reused"] and registered["alias"] == "champion"
    assert e2e["second"]["demo-shop"]["scores/recommendations"]["new_rows"] == 0
    assert e2e["second"]["demo-news"]["scores/summaries"]["new_rows"] == 0


def test_the_reused_run_paid_for_no_stage_subflow(e2e):
    """Each stage ran once as a subflow (first run) and once as a `Cached` task run (second run)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterStartTime,
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterStartTime,
    )

    stages = ("ingest", "clean", "audit", "tokenize", "train", "evaluate", "register")
    names = [f"{p}-{s}" for p in PIPELINES for s in stages]
    since = e2e["started"]  # runs of this module's two runs only (the Prefect backend is shared by the session)
    with get_client(sync_client=True) as client:
        flows = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names), start_time=FlowRunFilterStartTime(after_=since)))
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=names), start_time=TaskRunFilterStartTime(after_=since)))
    for name in names:
        assert len([r for r in flows if r.name == name]) == 1, f"{name}: one subflow, in the first run"
        reused = [r for r in tasks if r.name == name]
        assert len(reused) == 1 and reused[0].state.name == "Cached", f"{name}: one Cached task run"
    for name in PIPELINES:  # the same results, reuse aside
        first, second = e2e["first"][name], e2e["second"][name]
        for key in ("raw", "clean", "quarantine", "audit", "tokens"):
            assert {**first[key], "reused": True} == second[key]
        model = MODELS[name]
        assert first["models"][model]["metrics"] == second["models"][model]["metrics"]
        assert first["models"][model]["training"] == second["models"][model]["training"]


def test_champion_predicts_raw_text_in_a_fresh_process(e2e):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"}
    code = (
        "import mlflow, pandas as pd\n"
        "m = mlflow.pyfunc.load_model('models:/demo-reviews-sentiment@champion')\n"
        "out = m.predict(pd.DataFrame({'text': ['A wonderful, delightful product. I love it!', 'Terrible. Broke in a day.']}))\n"
        "print(out.to_json(orient='records'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rows) == 2
    assert {row["label"] for row in rows} <= {"positive", "negative"}
    assert all(abs(row["prob_positive"] + row["prob_negative"] - 1) < 1e-4 for row in rows)


def test_classifier_is_evaluated_beside_its_baseline(e2e):
    report = json.loads((e2e["ws"] / "data" / "demo-reviews" / "evaluate" / "sentiment" / "report.json").read_text())
    assert report["baseline"]["name"] == "tfidf_word_logreg"
    metrics = report["metrics"]
    assert metrics["gain_over_baseline_accuracy"] == pytest.approx(metrics["accuracy"] - metrics["baseline_accuracy"])
    client = MlflowClient()
    version = client.get_model_version_by_alias("demo-reviews-sentiment", "champion")
    assert "baseline_accuracy" in client.get_run(version.run_id).data.metrics
    card = version.description
    assert "## Baseline" in card and ("The model beats the baseline by" in card or "The model does not beat the baseline:" in card)
    assert report["probe"]["languages"] == ["en", "zh"]  # the demo corpus is ~10 % Chinese


def test_each_run_reads_one_config_snapshot_logged_with_the_model(e2e):
    """The config is frozen once per run (an edit mid-run cannot split stages across two configs):
    every stage got the snapshot, which holds the file's bytes, and the MLflow run carries it."""
    config_bytes = e2e["config"].read_bytes()
    for pipeline in PIPELINES:
        info = e2e["first"][pipeline]["config"]
        snapshot = Path(info["snapshot"])
        assert snapshot.parent == e2e["ws"] / "runs" and snapshot.read_bytes() == config_bytes
        assert e2e["second"][pipeline]["config"] == info  # same content, same snapshot
    client = MlflowClient()
    run_id = e2e["first"]["demo-reviews"]["models"]["sentiment"]["training"]["run_id"]
    run = client.get_run(run_id)
    assert run.data.tags["config_sha256"] == e2e["first"]["demo-reviews"]["config"]["sha256"]
    assert [a.path for a in client.list_artifacts(run_id, "config")] == [f"config/{snapshot.name}"]
