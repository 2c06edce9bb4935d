"""End to end: a real classifier bundle is logged as a pickle-free pyfunc, registered, made champion,
and loaded from `models:/<name>@champion` in a fresh process that has no corpusmill installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch
import yaml
from mlflow.tracking import MlflowClient
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from tasks.evaluate.classifier import evaluate_classifier
from tasks.evaluate.config import EvaluateConfig
from tasks.register.aliases import alias_history, decide_and_set_alias, load_champion
from tasks.register.config import RegisterConfig
from tasks.register.log_model import log_and_register, pip_requirements
from tasks.register.model_card import CardInput, render_model_card
from tasks.train.bundle import load_predictor, save_bundle
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind

NAME = "tiny-reviews-sentiment"
TEXTS = ["a great film", "terrible and boring", "I loved it", "the worst acting", "很好看的电影", "太无聊了"]
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised (seeded) tiny LSTM classifier saved with the trainer's `save_bundle`."""
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(TEXTS, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]"]))
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8, max_length=16)
    kind = ClassifierKind()
    meta = {"labels": ["neg", "pos"]}
    torch.manual_seed(0)
    model = kind.build(cfg, meta, tokenizer.get_vocab_size())
    return save_bundle(tmp_path_factory.mktemp("model") / "bundle", kind.name, cfg, model, meta, tokenizer)


@pytest.fixture(scope="module")
def registered(bundle: Path, mlflow_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Evaluate the bundle on a literal test split, log + register it, and give it an alias."""
    papers = tmp_path_factory.mktemp("papers")
    (papers / "audit").mkdir()
    (papers / "audit" / "report.json").write_text(json.dumps({"groups": [], "gates": []}))
    (papers / "audit" / "report.md").write_text("# Corpus audit\n")
    (papers / "model_audit.json").write_text(json.dumps({"groups": [{"group": "female", "accuracy": 0.5}]}))
    table = pa.table({"id": [f"r{i}" for i in range(len(TEXTS))], "text": TEXTS, "label": LABELS})
    evaluation = evaluate_classifier(load_predictor(bundle), table, EvaluateConfig(batch_size=4), papers / "plots")
    report, predictions = evaluation.report, evaluation.predictions
    card = CardInput(model_name=NAME, kind="lstm_classifier", metrics=report.flat(), dataset_manifest_hash="data123")
    tags = {"pipeline": "tiny-reviews", "dataset_manifest_hash": "data123", "code_version": "c0de", "audit_hash": "a1"}
    with mlflow.start_run() as run:
        mlflow.log_metrics(report.flat())
        for path in evaluation.plots.values():
            mlflow.log_artifact(str(path), artifact_path="plots")
        version = log_and_register(
            bundle, NAME, pd.DataFrame({"text": TEXTS[:2]}), card, tags, {"corpus_audit": papers / "audit", "model_audit": papers / "model_audit.json"}
        )
    client = MlflowClient()
    decision = decide_and_set_alias(
        client, NAME, version.version, report.flat(), True, "all gates passed", EvaluateConfig(metric="macro_f1"), RegisterConfig(), papers / "aliases.jsonl"
    )
    return {
        "version": version,
        "run_id": run.info.run_id,
        "card": render_model_card(card.model_copy(update={"version": version.version})),
        "decision": decision,
        "predictions": predictions,
        "report": report,
        "table": table,
    }


def test_version_tags_description_and_papers(registered: dict, client: MlflowClient, mlflow_store: Path) -> None:
    version = registered["version"]
    assert version.run_id == registered["run_id"] and version.model_uri == f"models:/{NAME}/1"
    mv = client.get_model_version(NAME, version.version)
    expected = registered["card"].split("## Tokenizer")
    assert mv.description.startswith(expected[0]) and mv.description.endswith(expected[1].split("\n", 3)[-1])
    assert f"tokenizer.json, as the tag)**: {mv.tags['tokenizer_hash']}" in mv.description  # one tokenizer hash
    assert mv.description.startswith(f"# Model card: {NAME} v{version.version}\n")
    assert "- **macro_f1**:" in mv.description
    assert client.get_registered_model(NAME).description == mv.description
    assert {"pipeline", "dataset_manifest_hash", "code_version", "audit_hash", "tokenizer_hash", "weights_hash"} <= set(mv.tags)
    assert mv.tags["pipeline"] == "tiny-reviews"
    assert client.get_run(version.run_id).data.tags["tokenizer_hash"] == mv.tags["tokenizer_hash"]
    assert mlflow.artifacts.load_text(f"runs:/{version.run_id}/model_card.md") == mv.description
    run_files = {a.path for a in client.list_artifacts(version.run_id)}
    assert {"model_card.md", "corpus_audit", "model_audit", "plots"} <= run_files
    assert {a.path for a in client.list_artifacts(version.run_id, "corpus_audit")} == {"corpus_audit/report.json", "corpus_audit/report.md"}
    assert registered["decision"].alias == "champion"
    assert [e.to_version for e in alias_history(client, NAME)] == [version.version]


def test_logged_model_holds_no_pickle(registered: dict, mlflow_store: Path) -> None:
    files = [p for p in (mlflow_store / "mlartifacts").rglob("*") if p.is_file()]
    assert any(p.name == "model.safetensors" for p in files)
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".pt", ".pth", ".joblib"}]
    # no file starts with a pickle header (protocol 2-5: 0x80 then the protocol number)
    assert not [p for p in files if p.read_bytes()[:2] in {b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"}]
    flavor = yaml.safe_load(next(p for p in files if p.name == "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"  # models-from-code
    assert flavor["model_code_path"].endswith("pyfunc_model.py") and "python_model" not in flavor
    requirements = next(p for p in files if p.name == "requirements.txt").read_text().split()
    assert set(pip_requirements()) <= set(requirements)
    assert any(r.startswith("torch==") and "+" not in r for r in requirements)


def test_signature_and_input_example(registered: dict) -> None:
    info = mlflow.models.get_model_info(registered["version"].model_uri)
    assert info.signature.inputs.input_names() == ["text"]
    assert info.signature.outputs.input_names() == ["label", "score", "prob_neg", "prob_pos"]
    assert info.saved_input_example_info is not None


def test_champion_loads_in_process_and_matches_bundle(registered: dict) -> None:
    champion = load_champion(NAME)
    assert champion is not None
    got = champion.predict(pd.DataFrame({"text": TEXTS}))
    np.testing.assert_allclose(got["prob_pos"], registered["predictions"]["prob_pos"], rtol=1e-5)
    # the champion re-scored on the same split through its pyfunc gives the candidate's figures
    rescored = evaluate_classifier(champion, registered["table"], EvaluateConfig())
    assert rescored.metrics == pytest.approx(registered["report"].flat())
    assert load_champion("no-such-model") is None


FRESH_PROCESS = textwrap.dedent("""
    import json, os, sys
    # No corpusmill on the path: drop the editable install's finder, so `tasks` must come from the model.
    sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    import mlflow, pandas as pd
    out = {}
    for allow in (None, "false"):
        if allow is not None:
            os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = allow
        model = mlflow.pyfunc.load_model("models:/%s@champion")
        out[str(allow)] = model.predict(pd.DataFrame({"text": %r})).to_dict(orient="list")
    import tasks
    out["tasks_file"] = tasks.__file__
    print("RESULT" + json.dumps(out, default=float))
""")


def test_champion_predicts_raw_text_in_a_fresh_process(registered: dict, mlflow_store: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "PYTHONPATH"}}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{mlflow_store}/mlflow.db"
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS % (NAME, TEXTS)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT", 1)[1])
    assert Path(result["tasks_file"]).parent.parent.name == "code"  # the model's own copy of `tasks`
    for key in ("None", "false"):
        assert result[key]["label"] == registered["predictions"]["label"].tolist()
        np.testing.assert_allclose(result[key]["prob_pos"], registered["predictions"]["prob_pos"], rtol=1e-5)
