"""PII through the real ingest and clean flows: the text and a carried `summary` column are redacted in
the clean dataset, and rows dropped before the `pii` step reach the quarantine redacted too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.common.dataset import DatasetHandle

pytestmark = pytest.mark.slow  # one Prefect backend, two small flow runs

CONFIG = """
workspace: {workspace}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  people:
    source: {{uri: "{uri}", format: jsonl, text_column: text, id_column: id, columns: [summary]}}
    clean: [normalize, {{length: {{min_words: 4}}}}, exact_dedup, pii]
    models:
      lm: {{kind: lstm_lm}}
"""
ROWS = [
    {"id": "a", "text": "Call Dr. Priya Raman on +1 (415) 555-2671 about the booking.", "summary": "mail priya@example.com"},
    {"id": "b", "text": "Call Dr. Priya Raman on +1 (415) 555-2671 about the booking.", "summary": "duplicate"},
    {"id": "c", "text": "IBAN DE89370400440532013000", "summary": "short, SSN 536-22-1987"},
    {"id": "d", "text": "A quiet room with a view of the lake, version 1.2.3.4 of the app.", "summary": "plain"},
]


def test_clean_and_quarantine_hold_no_pii(prefect_harness, tmp_path):
    from flows.clean import clean_flow
    from flows.ingest import ingest_flow

    source = tmp_path / "people.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    config = tmp_path / "pipelines.yaml"
    config.write_text(CONFIG.format(workspace=tmp_path / "ws", uri=source), encoding="utf-8")
    args = dict(pipeline="people", config_path=str(config), workspace=str(tmp_path / "ws"))
    ingest_flow(**args)
    result = clean_flow(**args)
    clean = {r["id"]: r for r in DatasetHandle(result["clean"]["uri"]).read_table().to_pylist()}
    quarantine = {r["id"]: r for r in DatasetHandle(result["quarantine"]["uri"]).read_table().to_pylist()}
    assert clean["a"]["text"] == "Call Dr. <PERSON> on <PHONE> about the booking." and clean["a"]["summary"] == "mail <EMAIL>"
    assert clean["d"]["text"].endswith("version 1.2.3.4 of the app.")
    assert quarantine["b"]["reason"] == "duplicate" and quarantine["b"]["text"] == clean["a"]["text"]
    assert quarantine["c"]["reason"] == "too_short"
    assert quarantine["c"]["text"] == "IBAN <IBAN>" and quarantine["c"]["summary"] == "short, SSN <SSN>"
    replaced = json.loads((Path(result["clean"]["uri"]) / "_manifest.json").read_text())
    assert '"pii"' in json.dumps(replaced) and '"person": 1' in json.dumps(replaced)
