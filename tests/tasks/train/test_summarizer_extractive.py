"""Extractive-summary helpers: position features, length rules, trigram blocking, the greedy
oracle, and the model's use of position (it scores a lead-biased corpus by position)."""

from __future__ import annotations

import pytest
import torch

from tasks.train.models.extractive import RELATIVE_BUCKETS, length_rules, oracle_labels, position_features, rouge_words, select, summary_length
from tasks.train.models.lstm_summarizer import LSTMSummarizer, SummarizerConfig


def test_position_features_absolute_relative_and_scalars():
    absolute, relative, scalars = position_features(4)
    assert absolute == [0, 1, 2, 3]
    assert relative == [0, 2, 5, 7] and max(position_features(25)[1]) == RELATIVE_BUCKETS - 1
    assert [s[0] for s in scalars] == [0.0, 0.25, 0.5, 0.75]
    assert [s[1] for s in scalars] == pytest.approx([1.0, 0.5, 1 / 3, 0.25])
    assert [s[2] for s in scalars] == [1.0, 0.0, 0.0, 0.0]
    assert len({s[3] for s in scalars}) == 1 and position_features(0) == ([], [], [])


def test_summary_length_rules():
    assert summary_length({"mode": "count", "value": 3}, 10) == 3
    assert summary_length({"mode": "count", "value": 3}, 2) == 2
    assert summary_length({"mode": "ratio", "value": 0.3}, 10) == 3
    assert summary_length({"mode": "ratio", "value": 0.3}, 11) == 4  # ceil
    assert summary_length({"mode": "ratio", "value": 0.1}, 3) == 1 and summary_length({"mode": "count", "value": 2}, 0) == 0
    assert length_rules([1, 2], [0.5]) == [{"mode": "count", "value": 1}, {"mode": "count", "value": 2}, {"mode": "ratio", "value": 0.5}]
    assert SummarizerConfig(summary_sentences=2).rules() == [{"mode": "count", "value": 2}]


def test_trigram_blocking_skips_a_redundant_sentence():
    sentences = ["The bank raised rates by half a point.", "The bank raised rates again on Monday.", "Shares fell in London."]
    words = [rouge_words(s) for s in sentences]
    scores = [0.9, 0.8, 0.1]
    assert select(scores, words, 2, trigram_blocking=False) == [0, 1]
    assert select(scores, words, 2, trigram_blocking=True) == [0, 2]  # "the bank raised" repeats
    assert select(scores, words, 5) == [0, 2]  # blocking may leave the summary shorter
    assert select([0.5, 0.5, 0.5], words, 1) == [0]  # ties: earlier first


def test_greedy_oracle_labels():
    sentences = [rouge_words(s) for s in ["Rain fell in Paris.", "The cat slept.", "Markets rose sharply."]]
    assert oracle_labels(sentences, rouge_words("Rain fell in Paris. Markets rose sharply.")) == [1, 0, 1]
    assert oracle_labels(sentences, rouge_words("nothing shared")) == [0, 0, 0]
    zh = [list("今天下雨了。"), list("股市大涨。")]
    assert oracle_labels(zh, list("股市上涨")) == [0, 1]


def test_model_sees_position_even_with_identical_sentences():
    """Same words in every sentence: only the position features can tell sentences apart."""
    torch.manual_seed(0)
    model = LSTMSummarizer(20, SummarizerConfig(embedding_dim=8, hidden_size=8, position_dim=4, dropout=0.0, max_sentences=6)).eval()
    ids = torch.tensor([[[3, 4, 5]] * 5])
    logits = model(ids, torch.tensor([[3] * 5]), torch.tensor([5]))
    assert logits.shape == (1, 5) and len({round(v, 6) for v in logits[0].tolist()}) == 5
    longer = model(torch.tensor([[[3, 4, 5]] * 6]), torch.tensor([[3] * 6]), torch.tensor([6]))  # beyond max_sentences: clamped
    assert torch.isfinite(longer).all()
