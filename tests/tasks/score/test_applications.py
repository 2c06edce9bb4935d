"""Scoring applications come from one registry: config keys, `corpusmill run`, deployments and the
summary read it, so a new application is its flow module plus one registry line."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusmill.config import ConfigError, load_config, parse_config
from tasks.score.applications import APPLICATIONS, Application

REPO = Path(__file__).resolve().parents[3]
SOURCE = {"uri": "demo://news", "format": "demo"}


def _config(applications: dict) -> dict:
    return {
        "pipelines": {"p": {"source": SOURCE, "models": {"s": {"kind": "lstm_summarizer"}}, "evaluate": {"metric": "rouge1_f"}, "applications": applications}}
    }


def fake_flow(pipeline: str, config_path: str, workspace: str) -> dict:
    """Stands in for a Prefect flow: says what it was called with."""
    return {"pipeline": pipeline, "config_path": config_path, "workspace": workspace}


def test_unknown_applications_are_config_errors_naming_the_registry():
    with pytest.raises(ConfigError) as err:
        parse_config(_config({"translations": {"model": "s"}}))
    assert "pipelines.p.applications" in str(err.value) and "translations" in str(err.value)
    for name in APPLICATIONS:
        assert name in str(err.value)


def test_configured_applications_in_registry_order_null_means_absent():
    apps = parse_config(_config({"summaries": {"model": "s"}, "recommendations": None})).pipeline("p").applications
    assert [name for name, _ in apps.items()] == ["summaries"]
    assert apps.get("summaries").model == "s" and apps.get("recommendations") is None


def test_a_new_application_is_one_registry_line(monkeypatch):
    from flows.scoring import run_applications, scoring_markdown

    monkeypatch.setitem(APPLICATIONS, "translations", Application("translations", "documents", f"{__name__}:fake_flow"))
    config = parse_config(_config({"translations": {"model": "s"}, "summaries": {"model": "s"}}))
    monkeypatch.setitem(APPLICATIONS, "summaries", Application("summaries", "documents", f"{__name__}:fake_flow"))
    results = run_applications(config, "p", "cfg.yaml", "/ws")
    assert list(results) == ["scores/summaries", "scores/translations"]
    assert results["scores/translations"] == {"pipeline": "p", "config_path": "cfg.yaml", "workspace": "/ws"}
    markdown = scoring_markdown(
        "translations", {"new_rows": 2, "model": "p-s", "version": "1", "total_rows": 2, "output": "/o", "new_partitions": ["a.parquet"], "input": "/i"}
    )
    assert "2 documents scored" in markdown


def test_deployments_keep_their_flow_names_for_the_shipped_pipelines(tmp_path):
    from flows.deployments import build_deployments

    config = load_config(REPO / "pipelines.yaml")
    deployments = build_deployments(config, "pipelines.yaml", str(tmp_path))
    scheduled = {(d.flow_name, d.name) for d in deployments if d.flow_name != "corpus-to-model"}
    expected = {(f"score-{app}", name) for name, p in config.pipelines.items() for app, _ in p.applications.items()}
    assert scheduled == expected
    assert ("score-recommendations", "demo-shop") in scheduled and ("score-summaries", "demo-news") in scheduled
    assert sum(d.flow_name == "corpus-to-model" for d in deployments) == len(config.pipelines)
