"""The LSTM language model: windows, tied embeddings, padding-free loss, perplexity going down."""

from __future__ import annotations

import math

import torch

from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind
from tasks.train.trainer import train_model

KIND = LanguageModelKind()


def test_stream_windows_overlap_by_one_token_and_join_documents(make_tokens, tokenizer):
    table = make_tokens(["good movie", "bad plot was"], [None, None], ["train", "train"])
    cfg = LanguageModelConfig(seq_len=3)
    prepared = KIND.prepare(table, tokenizer, cfg)
    sep = tokenizer.token_to_id("[SEP]")
    assert prepared.meta["separator_id"] == sep
    stream = [tokenizer.token_to_id(w) for w in ["good", "movie"]] + [sep] + [tokenizer.token_to_id(w) for w in ["bad", "plot", "was"]] + [sep]
    windows = [e["input_ids"].tolist() for e in prepared.splits["train"]]
    assert windows == [stream[0:4], stream[3:7]]


def test_per_document_mode_keeps_documents(make_tokens, tokenizer):
    table = make_tokens(["good movie was", "bad", "nice plot"], [None] * 3, ["train"] * 3)
    prepared = KIND.prepare(table, tokenizer, LanguageModelConfig(stream=False))
    assert [len(e["input_ids"]) for e in prepared.splits["train"]] == [3, 2]  # one-token documents dropped


def test_embeddings_are_tied_and_padding_does_not_change_the_loss(tokenizer):
    cfg = LanguageModelConfig(embedding_dim=8, hidden_size=12, dropout=0.0)
    torch.manual_seed(0)
    model = KIND.build(cfg, {}, 30)
    assert not any("decoder" in name for name, _ in model.named_parameters())
    assert model.proj.out_features == 8
    alone = KIND.collate([{"input_ids": torch.tensor([4, 5, 6, 7])}])
    padded = KIND.collate([{"input_ids": torch.tensor([4, 5, 6, 7])}, {"input_ids": torch.tensor([4, 5, 6, 7, 8, 9, 10, 11])}])
    loss_alone, count_alone = KIND.loss(model, alone)
    nll_second, count_second = KIND.loss(model, KIND.collate([{"input_ids": torch.tensor([4, 5, 6, 7, 8, 9, 10, 11])}]))
    loss_both, count_both = KIND.loss(model, padded)
    assert (count_alone, count_second, count_both) == (3, 7, 10)
    torch.testing.assert_close(loss_both, (3 * loss_alone + 7 * nll_second) / 10)


def test_perplexity_decreases_with_training(toy_tokens, tokenizer, tmp_path):
    cfg = LanguageModelConfig(embedding_dim=16, hidden_size=16, seq_len=8, dropout=0.0, train={"epochs": 3, "batch_size": 8, "lr": 0.01, "progress": False})
    prepared = KIND.prepare(toy_tokens, tokenizer, cfg)
    result = train_model(KIND, cfg, prepared, tokenizer.get_vocab_size(), tmp_path)
    perplexities = [h["val_perplexity"] for h in result.history]
    assert perplexities == sorted(perplexities, reverse=True) and perplexities[-1] < perplexities[0]
    assert perplexities[0] < tokenizer.get_vocab_size()  # better than uniform after one epoch
    assert math.isclose(result.best_metrics["perplexity"], math.exp(result.best_metrics["loss"]), rel_tol=1e-9)
    assert result.best_epoch == 3
