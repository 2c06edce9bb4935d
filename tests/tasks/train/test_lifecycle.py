"""The `Trainer`'s lifecycle: its methods, driven one by one, are the same training as `run`;
the kind's hooks are called at their points, also across a crash, a damaged checkpoint and a resume."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import torch
from torch import nn

from tasks.train.checkpoint import read_latest
from tasks.train.device import seeded
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.trainer import Trainer, train_model
from tests.tasks.train.test_trainer import Crash, crash_at

CLASSIFIER = ClassifierKind()


def classifier_cfg(**train) -> ClassifierConfig:
    settings = {"epochs": 3, "batch_size": 16, "lr": 0.01, "progress": False} | train
    return ClassifierConfig(embedding_dim=12, hidden_size=12, dropout=0.2, train=settings)


class RecordingKind(ClassifierKind):
    """The classifier, recording its hook calls; the embedding gets half the learning rate."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    def on_epoch_start(self, model: nn.Module, cfg: Any, epoch: int) -> None:
        self.calls.append(("on_epoch_start", epoch))
        super().on_epoch_start(model, cfg, epoch)

    def warm_start(self, model: nn.Module, cfg: Any) -> None:
        self.calls.append(("warm_start", None))
        super().warm_start(model, cfg)

    def param_groups(self, model: nn.Module, cfg: Any) -> list[dict[str, Any]]:
        rest = [p for name, p in model.named_parameters() if name != "embedding.weight"]
        return [{"params": rest}, {"params": [model.embedding.weight], "lr_scale": 0.5}]


@pytest.fixture(scope="module")
def prepared(toy_tokens, tokenizer):
    return CLASSIFIER.prepare(toy_tokens, tokenizer, classifier_cfg())


def test_the_lifecycle_driven_by_hand_is_the_same_training_as_run(prepared, tokenizer, tmp_path, one_torch_thread):
    cfg = classifier_cfg(epochs=2)
    vocab = tokenizer.get_vocab_size()
    reference = train_model(CLASSIFIER, cfg, prepared, vocab, tmp_path / "run")
    trainer = Trainer(CLASSIFIER, cfg, prepared, vocab, tmp_path / "by-hand")
    with seeded(cfg.train.seed, cfg.train.deterministic):
        trainer.setup()
        for epoch in range(cfg.train.epochs):
            assert trainer.train_epoch(), "an epoch without max_steps runs to its end"
            metrics = trainer.validate()
            assert set(metrics) >= {"accuracy", "loss"}
            trainer.end_epoch(metrics)
            assert trainer.state.epoch == epoch + 1 and trainer.state.history[-1]["epoch"] == epoch + 1
            assert read_latest(trainer.ckpt_root) is not None, "end_epoch checkpoints"
    result = trainer.finish()
    assert result.losses == reference.losses
    assert result.history == reference.history
    assert result.best_epoch == reference.best_epoch and result.best_metrics == reference.best_metrics
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(result.model.state_dict()[name], value, rtol=0, atol=0)


def test_param_groups_lr_scale_sets_each_groups_learning_rate(prepared, tokenizer, tmp_path):
    cfg = classifier_cfg(schedule="constant")
    trainer = Trainer(RecordingKind(), cfg, prepared, tokenizer.get_vocab_size(), tmp_path)
    trainer.setup()
    assert trainer.scheduler.base_lrs == [pytest.approx(0.01), pytest.approx(0.005)]
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [pytest.approx(0.01), pytest.approx(0.005)]
    assert trainer.optimizer.param_groups[1]["params"][0] is trainer.model.embedding.weight


def test_hooks_and_a_damaged_checkpoint_across_a_crash_and_resume(prepared, tokenizer, tmp_path, caplog, one_torch_thread):
    cfg = classifier_cfg(checkpoint_every_steps=4, early_stopping_patience=None)  # 11 steps per epoch
    vocab = tokenizer.get_vocab_size()
    straight_kind, crashed_kind = RecordingKind(), RecordingKind()
    reference = train_model(straight_kind, cfg, prepared, vocab, tmp_path / "straight")
    assert straight_kind.calls == [("warm_start", None), ("on_epoch_start", 0), ("on_epoch_start", 1), ("on_epoch_start", 2)]
    with pytest.raises(Crash):
        train_model(crashed_kind, cfg, prepared, vocab, tmp_path / "crashed", on_step=crash_at(15))
    assert crashed_kind.calls == [("warm_start", None), ("on_epoch_start", 0), ("on_epoch_start", 1)]
    root = tmp_path / "crashed" / "checkpoints"
    latest = read_latest(root)
    assert latest is not None and latest.name.startswith("ckpt-00000012-")
    data = bytearray((latest / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF  # one flipped byte: the sha256 no longer matches
    (latest / "model.safetensors").write_bytes(bytes(data))
    resumed_kind = RecordingKind()
    with caplog.at_level(logging.WARNING):
        resumed = train_model(resumed_kind, cfg, prepared, vocab, tmp_path / "crashed", resume=True)
    assert latest.name in caplog.text and "falling back" in caplog.text
    # resumed from the end of epoch 1 (step 11): no warm start, the hook runs from epoch index 1 on
    assert resumed_kind.calls == [("on_epoch_start", 1), ("on_epoch_start", 2)]
    assert resumed.losses == reference.losses and resumed.history == reference.history
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)
