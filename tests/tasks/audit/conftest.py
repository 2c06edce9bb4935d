"""Fixtures of the audit tests: small literal corpora."""

from __future__ import annotations

import pyarrow as pa
import pytest


def gender_corpus(n_per_group: int = 200, female_pos: float = 0.5, male_pos: float = 0.5, neutral_pos: float = 0.5) -> pa.Table:
    """Docs mentioning 'she' / 'he' / neither, with exact positive-label shares per group."""
    ids, texts, labels = [], [], []
    for name, sentence, rate in [
        ("f", "She said the film was {}.", female_pos),
        ("m", "He said the film was {}.", male_pos),
        ("n", "The film was {}.", neutral_pos),
    ]:
        n_pos = round(n_per_group * rate)
        for i in range(n_per_group):
            label = "pos" if i < n_pos else "neg"
            ids.append(f"{name}{i}")
            texts.append(sentence.format("fine" if label == "pos" else "dull") + f" take {i}")
            labels.append(label)
    return pa.table({"id": ids, "text": texts, "label": labels})


@pytest.fixture
def make_corpus():
    """The `gender_corpus` builder."""
    return gender_corpus
