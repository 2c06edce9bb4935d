"""A pipeline of two sources (labelled reviews + unlabelled text) whose classifier starts from an
`lstm_lm` trained in the same pipeline (ULMFiT): ingest -> clean -> audit -> tokens -> train."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest
import torch
from safetensors.torch import load_file

from tasks.common.dataset import DatasetHandle

pytestmark = pytest.mark.slow  # one shared Prefect backend, five small flow runs

LABELLED = [
    ("a good film, warm and funny", "pos"),
    ("dull and far too long", "neg"),
    ("great cast and a fine story", "pos"),
    ("a boring, empty mess", "neg"),
    ("funny, moving and well made", "pos"),
    ("weak script and bad acting", "neg"),
] * 8
UNLABELLED = [
    "the film opens on a quiet street and follows a family for a year",
    "critics found the story warm but the ending far too long",
    "the cast is young and the script was written in a week",
] * 10

CONFIG = """
workspace: {workspace}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  reviews:
    sources:
      - {{uri: "{labelled}", format: jsonl, label_column: label}}
      - {{uri: "{unlabelled}", format: txt}}
    clean: [normalize]
    tokenize: {{vocab_size: 200}}
    models:
      sentiment: {{kind: lstm_classifier, embedding_dim: 16, hidden_size: 16, bidirectional: false, pretrained_lm: lm,
                   unfreeze_schedule: [99, 99], train: {{epochs: 1, progress: false}}}}
      lm: {{kind: lstm_lm, embedding_dim: 16, hidden_size: 16, seq_len: 16, train: {{epochs: 1, progress: false}}}}
"""


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Iterator[dict]:
    from flows.audit import audit_flow
    from flows.clean import clean_flow
    from flows.ingest import ingest_flow
    from flows.tokenize import tokenize_flow
    from flows.train import train_flow

    root = tmp_path_factory.mktemp("pretrained")
    labelled, unlabelled = root / "labelled.jsonl", root / "more.txt"
    labelled.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in LABELLED), encoding="utf-8")
    unlabelled.write_text("\n".join(UNLABELLED) + "\n", encoding="utf-8")
    config = root / "pipelines.yaml"
    config.write_text(CONFIG.format(workspace=root / "ws", labelled=labelled, unlabelled=unlabelled), encoding="utf-8")
    args = dict(pipeline="reviews", config_path=str(config), workspace=str(root / "ws"))
    with pytest.MonkeyPatch.context() as patch:  # this module's own MLflow store, for its whole life
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'ws' / 'mlflow.db'}")
        raw = ingest_flow(**args)
        clean_flow(**args)
        audit_flow(**args)
        tokenize_flow(**args)
        yield {"root": root, "raw": raw, "train": train_flow(**args), "again": train_flow(**args)}


def test_both_sources_are_read_with_distinct_ids(run):
    table = DatasetHandle(run["raw"]["uri"]).read_table()
    assert table.num_rows == len(LABELLED) + len(UNLABELLED)
    assert len(pc.unique(table["id"])) == table.num_rows
    assert table["label"].null_count == len(UNLABELLED)


def test_the_lm_trains_first_and_the_classifier_starts_from_it(run):
    sentiment, lm = run["train"]["sentiment"], run["train"]["lm"]
    record = json.loads((Path(sentiment["bundle"]).parent / "train_record.json").read_text())
    lm_record = json.loads((Path(lm["bundle"]).parent / "train_record.json").read_text())
    config = json.loads((Path(sentiment["bundle"]) / "config.json").read_text())
    assert config["config"]["pretrained_lm"] == lm["bundle"]
    # the frozen embedding and LSTM (unfreeze_schedule far ahead) are the LM's weights exactly
    own, source = (load_file(str(Path(sentiment["bundle"]) / "model.safetensors")), load_file(str(Path(lm["bundle"]) / "model.safetensors")))
    for name in ("embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0"):
        torch.testing.assert_close(own[name], source[name])
    assert record["cache_key"] != lm_record["cache_key"]
    import mlflow

    tags = mlflow.get_run(record["run_id"]).data.tags
    assert tags["pretrained_lm.cache_key"] == lm_record["cache_key"] and tags["pretrained_lm.bundle"] == lm["bundle"]


def test_a_second_run_reuses_both_models(run):
    assert run["again"]["sentiment"]["run_id"] == run["train"]["sentiment"]["run_id"]
    assert run["again"]["lm"]["run_id"] == run["train"]["lm"]["run_id"]
