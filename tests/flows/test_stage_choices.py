"""`stages` is typed (the Prefect UI offers the seven names; anything else fails before any work),
and a pipeline without models curates its corpus (ingest, clean, audit) and stops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect.exceptions import ParameterTypeError
from prefect.utilities.callables import parameter_schema

from corpusmill.config import parse_config
from flows.corpus_to_model import corpus_to_model_flow

SEVEN = ["ingest", "clean", "audit", "tokenize", "train", "evaluate", "register"]
DATA_ONLY = """
workspace: {ws}
pipelines:
  curate:
    source: {{uri: "demo://reviews", format: demo, label_column: label, rows: 120, seed: 5}}
    clean: [normalize, exact_dedup]
"""


def test_the_flow_parameter_schema_offers_the_seven_stages() -> None:
    schema = json.dumps(parameter_schema(corpus_to_model_flow.fn).model_dump())
    assert json.dumps(SEVEN)[1:-1] in schema  # an enum of exactly these names, in order
    assert "score" not in schema


def test_an_unknown_stage_fails_before_any_work(prefect_harness, tmp_path: Path) -> None:
    with pytest.raises(ParameterTypeError, match=r"stages.0: Input should be 'ingest', 'clean'"):
        corpus_to_model_flow(pipeline="p", config_path=str(tmp_path / "missing.yaml"), stages=["evalute"])


def test_models_are_optional() -> None:
    config = parse_config({"pipelines": {"p": {"source": {"uri": "demo://reviews", "format": "demo"}}}})
    assert config.pipelines["p"].data_only and config.pipelines["p"].models == {}


def test_a_data_only_pipeline_runs_ingest_clean_audit_and_stops(prefect_harness, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    config = tmp_path / "pipelines.yaml"
    config.write_text(DATA_ONLY.format(ws=tmp_path / "ws"), encoding="utf-8")
    result = corpus_to_model_flow(pipeline="curate", config_path=str(config))
    assert {"raw", "clean", "quarantine", "audit"} <= set(result) and result["raw"]["rows"] == 120
    assert "tokens" not in result and "models" not in result
    data = tmp_path / "ws" / "data" / "curate"
    assert (data / "audit" / "_manifest.json").is_file() and not (data / "tokens").exists()
