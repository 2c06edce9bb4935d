"""Real data (../shared/data): a short SST-2 run must beat the majority class on the dev set."""

from __future__ import annotations

import csv

import pyarrow as pa
import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.trainer import train_model


def read_tsv(path) -> tuple[list[str], list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [r["label"] for r in rows]


@pytest.mark.slow
@pytest.mark.shared_data
def test_short_sst2_run_beats_the_majority_class(shared_data, tmp_path):
    folder = shared_data / "sst2"
    if not (folder / "train.tsv").is_file():
        pytest.skip(f"{folder}/train.tsv is absent")
    train_texts, train_labels = read_tsv(folder / "train.tsv")
    dev_texts, dev_labels = read_tsv(folder / "dev.tsv")
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(train_texts, trainers.WordLevelTrainer(min_frequency=2, special_tokens=["[PAD]", "[UNK]"]))
    texts = train_texts + dev_texts
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    tokens = pa.table(
        {
            "id": [str(i) for i in range(len(texts))],
            "input_ids": pa.array(ids, pa.list_(pa.int32())),
            "split": ["train"] * len(train_texts) + ["validation"] * len(dev_texts),
            "label": train_labels + dev_labels,
        }
    )
    kind = ClassifierKind()
    cfg = ClassifierConfig(embedding_dim=64, hidden_size=64, train={"epochs": 2, "batch_size": 64, "lr": 0.005, "progress": False})
    result = train_model(kind, cfg, kind.prepare(tokens, tokenizer, cfg), tokenizer.get_vocab_size(), tmp_path)
    majority = max(dev_labels.count(v) for v in set(dev_labels)) / len(dev_labels)
    assert result.best_metrics["accuracy"] > majority + 0.1, (result.best_metrics, majority)
