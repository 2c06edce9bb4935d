"""The seeded hyper-parameter search: nested MLflow runs, best on validation, test split never read."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest
import torch

from corpusmill.cli import main
from tasks.common.dataset import DatasetHandle
from tasks.common.errors import CorpusmillError
from tasks.train.kind import Prepared
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.trainer import evaluate_examples
from tasks.train.search import ParamSpec, SearchConfig, search, with_overrides
from tasks.train.tune import search_config, tune_model, yaml_overrides
from tests.mlflow_store import tracking_uri

pytest.importorskip("optuna", reason="the search needs Optuna: pip install 'corpusmill[search]'")

KIND = ClassifierKind()


class Untouchable(list):
    """A split that fails the test on any read (iteration, length, indexing, truthiness)."""

    def _read(self, *_: object) -> None:
        raise AssertionError("the search read the test split")

    __iter__ = __len__ = __getitem__ = __bool__ = __contains__ = _read  # type: ignore[assignment]


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> mlflow.MlflowClient:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with tracking_uri(uri):
        mlflow.set_experiment("search-test")
        yield mlflow.MlflowClient(uri)


def test_two_trial_search_logs_nested_runs_and_picks_the_best_on_validation(toy_tokens, tokenizer, tracking, tmp_path, one_torch_thread):
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8, train={"epochs": 1, "batch_size": 16, "progress": False})
    prepared = KIND.prepare(toy_tokens, tokenizer, cfg)
    assert len(prepared.splits["test"]) > 0  # the toy corpus has a test split: the search must leave it alone
    guarded = Prepared(splits={**prepared.splits, "test": Untouchable()}, meta=prepared.meta)
    config = SearchConfig(
        trials=2,
        seed=3,
        startup_trials=2,
        space={
            "train.lr": ParamSpec(type="float", low=1e-4, high=3e-2, log=True),
            "dropout": ParamSpec(type="float", low=0.0, high=0.5),
            "train.epochs": ParamSpec(type="int", low=1, high=3),
        },
    )

    with mlflow.start_run(run_name="parent") as parent:
        result = search(KIND, cfg, guarded, tokenizer.get_vocab_size(), tmp_path / "trials", config)

    children = tracking.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 2 and len(result.trials) == 2
    by_id = {run.info.run_id: run for run in children}
    for trial in result.trials:
        run = by_id[trial.run_id]
        assert run.data.metrics["objective"] == pytest.approx(trial.value)
        assert 0.0 <= trial.value <= 1.0
        assert float(run.data.params["train.lr"]) == pytest.approx(trial.params["train.lr"])
        assert float(run.data.params["dropout"]) == pytest.approx(trial.params["dropout"])
        assert int(run.data.params["train.epochs"]) == trial.params["train.epochs"]
        # the trial's validation curve is logged, and its objective is the best epoch of it
        history = tracking.get_metric_history(trial.run_id, "val_accuracy")
        assert max(h.value for h in history) == pytest.approx(trial.value)
    best = max(result.trials, key=lambda t: t.value)
    assert result.best_value == best.value and result.best_params == best.params
    # the kept model is the best trial's: it scores the best trial's validation accuracy again
    again = evaluate_examples(KIND, result.best_model, prepared.splits["validation"], cfg.train, torch.device("cpu"))
    assert again["accuracy"] == pytest.approx(best.value)
    logged = tracking.get_run(parent.info.run_id).data
    assert logged.tags["search.best_run_id"] == best.run_id
    assert logged.metrics["best_val_accuracy"] == pytest.approx(best.value)
    assert float(logged.params["best.train.lr"]) == pytest.approx(best.params["train.lr"])
    assert int(logged.params["best.train.epochs"]) == best.params["train.epochs"]


def test_the_same_seed_draws_the_same_params(toy_tokens, tokenizer, tracking, tmp_path, one_torch_thread):
    cfg = ClassifierConfig(embedding_dim=4, hidden_size=4, train={"epochs": 1, "batch_size": 32, "progress": False})
    prepared = KIND.prepare(toy_tokens, tokenizer, cfg)
    config = SearchConfig(
        trials=2,
        seed=11,
        startup_trials=2,
        space={"train.lr": ParamSpec(type="float", low=1e-4, high=1e-2, log=True), "hidden_size": ParamSpec(type="categorical", choices=[4, 6])},
    )
    first = search(KIND, cfg, prepared, tokenizer.get_vocab_size(), tmp_path / "a", config, run_name="a")
    second = search(KIND, cfg, prepared, tokenizer.get_vocab_size(), tmp_path / "b", config, run_name="b")
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.value for t in first.trials] == pytest.approx([t.value for t in second.trials])
    assert first.parent_run_id != second.parent_run_id  # each search opened its own parent run


def test_overrides_are_validated_and_name_bad_keys():
    cfg = ClassifierConfig()
    changed = with_overrides(cfg, {"train.lr": 1e-3, "dropout": 0.25})
    assert changed.train.lr == 1e-3 and changed.dropout == 0.25 and cfg.train.lr != 1e-3
    with pytest.raises(ValueError, match="dropout"):
        with_overrides(cfg, {"dropout": 1.5})
    with pytest.raises(KeyError, match="lr.x"):
        with_overrides(cfg, {"lr.x": 1})


def test_tune_reads_a_pipeline_tokens_dataset_without_its_test_rows(tokens_uri, tracking, tmp_path, monkeypatch, one_torch_thread):
    handle = DatasetHandle(tokens_uri)
    seen: list[set[str]] = []
    real_prepare = ClassifierKind.prepare

    def spy(self, tokens, tok, cfg):
        seen.append(set(tokens["split"].to_pylist()))
        return real_prepare(self, tokens, tok, cfg)

    monkeypatch.setattr(ClassifierKind, "prepare", spy)
    cfg = ClassifierConfig(embedding_dim=4, hidden_size=4, train={"epochs": 1, "batch_size": 32, "progress": False})
    config = search_config("lstm_classifier", trials=1, seed=0, space_json='{"train.lr": {"type": "float", "low": 0.001, "high": 0.01}}')
    result = tune_model("toy", "sentiment", cfg, handle.uri, "toy", tmp_path / "artifacts", tmp_path / "search", config)
    assert seen == [{"train", "validation"}]  # the test rows were filtered out before the kind saw the table
    parent = tracking.get_run(result.parent_run_id)
    assert parent.data.tags["pipeline"] == "toy" and parent.info.run_name == "toy-sentiment-search"
    assert float(parent.data.params["best.train.lr"]) == pytest.approx(result.best_params["train.lr"])
    assert "train: {lr: " in yaml_overrides(result.best_params)
    with pytest.raises(CorpusmillError, match="no tokens dataset"):
        tune_model("toy", "sentiment", cfg, str(tmp_path / "absent"), "toy", tmp_path / "artifacts", tmp_path / "s2", config)
    with pytest.raises(CorpusmillError, match="--space"):
        search_config("lstm_lm", trials=2, seed=0)


def test_cli_tune_names_a_missing_model_or_tokens_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the CLI exports the workspace environment
    config = tmp_path / "pipelines.yaml"
    config.write_text("pipelines:\n  p:\n    source: {uri: 'demo://reviews', format: demo}\n    models: {sentiment: {kind: lstm_classifier}}\n")
    common = ["--config", str(config), "--workspace", str(tmp_path / "ws")]
    assert main(["tune", "p", "nope", *common]) == 2
    assert "no model 'nope'" in capsys.readouterr().err
    assert main(["tune", "p", "sentiment", "--trials", "2", *common]) == 2
    assert "no tokens dataset" in capsys.readouterr().err
