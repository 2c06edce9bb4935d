"""ULMFiT-style start: a classifier initialised from an lstm_lm bundle."""

from __future__ import annotations

import pytest
import torch

from tasks.train.bundle import save_bundle
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind
from tasks.train.trainer import train_model


@pytest.fixture(scope="module")
def lm_bundle(toy_tokens, tokenizer, tmp_path_factory):
    kind = LanguageModelKind()
    cfg = LanguageModelConfig(embedding_dim=12, hidden_size=12, num_layers=2, seq_len=8, train={"epochs": 1, "batch_size": 8, "progress": False})
    result = train_model(kind, cfg, kind.prepare(toy_tokens, tokenizer, cfg), tokenizer.get_vocab_size(), tmp_path_factory.mktemp("lm"))
    return save_bundle(tmp_path_factory.mktemp("lm_bundle"), kind.name, cfg, result.model, {}, tokenizer), result.model


def test_warm_start_copies_embedding_and_lstm_weights(lm_bundle, toy_tokens, tokenizer):
    path, lm = lm_bundle
    kind = ClassifierKind()
    cfg = ClassifierConfig(embedding_dim=12, hidden_size=12, num_layers=2, bidirectional=False, pretrained_lm=str(path))
    model = kind.build(cfg, {"labels": ["neg", "pos"]}, tokenizer.get_vocab_size())
    kind.warm_start(model, cfg)
    torch.testing.assert_close(model.embedding.weight, lm.embedding.weight.cpu())
    for name, value in lm.lstm.state_dict().items():
        torch.testing.assert_close(model.lstm.state_dict()[name], value.cpu())


def test_shape_mismatch_names_the_constraint(lm_bundle, tokenizer):
    path, _ = lm_bundle
    kind = ClassifierKind()
    cfg = ClassifierConfig(embedding_dim=12, hidden_size=12, num_layers=2, bidirectional=True, pretrained_lm=str(path))
    model = kind.build(cfg, {"labels": ["neg", "pos"]}, tokenizer.get_vocab_size())
    with pytest.raises(ValueError, match="bidirectional: false"):
        kind.warm_start(model, cfg)


def test_fine_tuning_from_the_lm_with_unfreezing_and_discriminative_lrs(lm_bundle, toy_tokens, tokenizer, tmp_path):
    path, lm = lm_bundle
    kind = ClassifierKind()
    cfg = ClassifierConfig(
        embedding_dim=12,
        hidden_size=12,
        num_layers=2,
        bidirectional=False,
        pretrained_lm=str(path),
        lr_decay_per_layer=0.5,
        unfreeze_schedule=[1, 2, 3],
        train={"epochs": 2, "batch_size": 16, "lr": 0.01, "progress": False, "early_stopping_patience": None},
    )
    result = train_model(kind, cfg, kind.prepare(toy_tokens, tokenizer, cfg), tokenizer.get_vocab_size(), tmp_path)
    # epoch 1 trains the head, epoch 2 also the top LSTM layer; the lower layer and embedding stay as pretrained
    torch.testing.assert_close(result.model.embedding.weight, lm.embedding.weight.cpu())
    torch.testing.assert_close(result.model.lstm.weight_ih_l0, lm.lstm.weight_ih_l0.cpu())
    assert not torch.allclose(result.model.lstm.weight_ih_l1, lm.lstm.weight_ih_l1.cpu())
