"""The trainer: golden losses, resume equality, early stopping, logging, schedules."""

from __future__ import annotations

import pytest
import torch

from tasks.train.checkpoint import read_latest
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind
from tasks.train.trainer import evaluate_examples, lr_lambda, train_model

CLASSIFIER = ClassifierKind()
LM = LanguageModelKind()
# First five step losses of the runs below (seed 13, CPU), recorded once; a change means the
# model, batching, initialisation or optimiser changed behaviour.
GOLDEN_CLASSIFIER = [0.68844, 0.697994, 0.689722, 0.719603, 0.660852]
GOLDEN_LM = [3.321274, 3.24972, 3.231085, 3.177604, 3.110732]


def classifier_cfg(**train) -> ClassifierConfig:
    settings = {"epochs": 3, "batch_size": 16, "lr": 0.01, "progress": False} | train
    return ClassifierConfig(embedding_dim=12, hidden_size=12, dropout=0.2, train=settings)


def lm_cfg(**train) -> LanguageModelConfig:
    settings = {"epochs": 2, "batch_size": 8, "lr": 0.01, "progress": False} | train
    return LanguageModelConfig(embedding_dim=12, hidden_size=16, dropout=0.2, seq_len=8, train=settings)


@pytest.fixture(scope="module")
def prepared(toy_tokens, tokenizer):
    return CLASSIFIER.prepare(toy_tokens, tokenizer, classifier_cfg())


def test_golden_losses_classifier(prepared, tokenizer, tmp_path):
    result = train_model(CLASSIFIER, classifier_cfg(max_steps=5), prepared, tokenizer.get_vocab_size(), tmp_path)
    assert result.losses == pytest.approx(GOLDEN_CLASSIFIER, abs=1e-4)


def test_golden_losses_language_model(toy_tokens, tokenizer, tmp_path):
    cfg = lm_cfg(max_steps=5)
    result = train_model(LM, cfg, LM.prepare(toy_tokens, tokenizer, cfg), tokenizer.get_vocab_size(), tmp_path)
    assert result.losses == pytest.approx(GOLDEN_LM, abs=1e-4)


class Crash(RuntimeError):
    pass


def crash_at(step: int):
    def on_step(global_step: int, loss: float) -> None:
        if global_step == step:
            raise Crash(f"simulated crash at step {step}")

    return on_step


def test_interrupted_then_resumed_run_gives_the_same_losses(prepared, tokenizer, tmp_path):
    vocab = tokenizer.get_vocab_size()
    cfg = classifier_cfg(checkpoint_every_steps=4)
    reference = train_model(CLASSIFIER, cfg, prepared, vocab, tmp_path / "straight")
    with pytest.raises(Crash):
        train_model(CLASSIFIER, cfg, prepared, vocab, tmp_path / "crashed", on_step=crash_at(15))
    assert read_latest(tmp_path / "crashed" / "checkpoints") is not None
    resumed = train_model(CLASSIFIER, cfg, prepared, vocab, tmp_path / "crashed", resume=True)
    assert len(reference.losses) == 33
    assert resumed.losses == reference.losses
    assert resumed.history == reference.history
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)


def test_max_steps_then_resume_matches_an_uninterrupted_run(toy_tokens, tokenizer, tmp_path):
    vocab = tokenizer.get_vocab_size()
    cfg = lm_cfg()
    prepared = LM.prepare(toy_tokens, tokenizer, cfg)
    reference = train_model(LM, cfg, prepared, vocab, tmp_path / "straight")
    stopped = train_model(LM, lm_cfg(max_steps=7), prepared, vocab, tmp_path / "stopped")
    assert stopped.steps == 7 and stopped.losses == reference.losses[:7]
    resumed = train_model(LM, cfg, prepared, vocab, tmp_path / "stopped", resume=True)
    assert resumed.losses == reference.losses
    assert resumed.best_metrics == reference.best_metrics


def test_early_stopping_stops_and_restores_the_best_weights(prepared, tokenizer, tmp_path):
    # Monitoring validation loss with mode "max" makes epochs "worse" as soon as the model learns.
    cfg = classifier_cfg(epochs=8, monitor="loss", mode="max", early_stopping_patience=2)
    result = train_model(CLASSIFIER, cfg, prepared, tokenizer.get_vocab_size(), tmp_path)
    val_losses = [h["val_loss"] for h in result.history]
    best = max(range(len(val_losses)), key=val_losses.__getitem__)
    assert len(result.history) < 8, "early stopping did not stop"
    assert len(result.history) == best + 1 + 2, "stopped exactly `patience` epochs after the best"
    assert result.best_epoch == best + 1
    assert result.best_metrics["loss"] == val_losses[best]
    again = evaluate_examples(CLASSIFIER, result.model, prepared.splits["validation"], cfg.train, torch.device("cpu"))
    assert again["loss"] == pytest.approx(val_losses[best], rel=1e-6), "best weights were not restored"
    assert again["loss"] != pytest.approx(val_losses[-1], rel=1e-6)


def test_log_metrics_gets_step_losses_and_epoch_metrics(prepared, tokenizer, tmp_path):
    calls: list[tuple[dict, int]] = []
    result = train_model(CLASSIFIER, classifier_cfg(epochs=2), prepared, tokenizer.get_vocab_size(), tmp_path, log_metrics=lambda m, s: calls.append((m, s)))
    step_calls = [(m, s) for m, s in calls if "train_loss" in m and "val_accuracy" not in m]
    epoch_calls = [(m, s) for m, s in calls if "val_accuracy" in m]
    assert [s for _, s in step_calls] == list(range(1, result.steps + 1))
    assert [m["train_loss"] for m, _ in step_calls] == result.losses
    assert [s for _, s in epoch_calls] == [1, 2]
    assert {"val_accuracy", "val_macro_f1", "val_loss", "tokens_per_s"} <= set(epoch_calls[0][0])
    # per-epoch values have their own keys: `train_loss` is only ever the per-step value (issue 9)
    assert all("train_loss" not in m and "epoch_train_loss" in m for m, _ in epoch_calls)
    assert (tmp_path / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.tokens_per_s > 0


def test_schedules_warm_up_then_decay():
    warm = lr_lambda("warmup_linear", 100, 0.1)
    assert warm(0) == pytest.approx(0.1) and warm(9) == pytest.approx(1.0)
    assert warm(55) == pytest.approx(0.5) and warm(99) == pytest.approx(1 / 90)
    cycle = lr_lambda("one_cycle", 100, 0.3)
    values = [cycle(s) for s in range(100)]
    assert values.index(max(values)) == 29 and values[0] < 0.1 and values[-1] < 0.01
    assert lr_lambda("constant", 10, 0.5)(7) == 1.0
