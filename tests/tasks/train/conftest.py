"""Fixtures of the train tests: a tiny WordLevel tokenizer and tokens tables built in the test."""

from __future__ import annotations

import random
from collections.abc import Callable

import pyarrow as pa
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

POSITIVE = ["good", "great", "fine", "nice", "lovely"]
NEGATIVE = ["bad", "awful", "poor", "ugly", "dull"]
FILLER = ["the", "movie", "was", "plot", "and", "actors", "a", "very", "really", "story"]


def toy_corpus(n: int = 240, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """Trivially separable reviews: each has one sentiment word among fillers, 3-14 words long.
    Returns (texts, labels, splits) with about 70/15/15 % train/validation/test."""
    rng = random.Random(seed)
    texts, labels, splits = [], [], []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 13))]
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label == "pos" else NEGATIVE))
        texts.append(" ".join(words))
        labels.append(label)
        r = rng.random()
        splits.append("train" if r < 0.7 else "validation" if r < 0.85 else "test")
    return texts, labels, splits


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """WordLevel tokenizer over the toy vocabulary; id 0 is [PAD], 1 is [UNK], 2 is [SEP]."""
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[SEP]"])
    tok.train_from_iterator([" ".join(POSITIVE + NEGATIVE + FILLER)], trainer=trainer)
    return tok


@pytest.fixture(scope="session")
def make_tokens(tokenizer: Tokenizer) -> Callable[..., pa.Table]:
    """(texts, labels, splits, weights=None) -> a tokens table as the tokenize stage writes it."""

    def build(texts: list[str], labels: list[str | None], splits: list[str], weights: list[float] | None = None) -> pa.Table:
        ids = [e.ids for e in tokenizer.encode_batch(texts)]
        columns = {
            "id": pa.array([f"doc-{i}" for i in range(len(texts))]),
            "text": pa.array(texts),
            "input_ids": pa.array(ids, type=pa.list_(pa.int32())),
            "length": pa.array([len(x) for x in ids], type=pa.int32()),
            "split": pa.array(splits),
            "label": pa.array(labels, type=pa.string()),
        }
        if weights is not None:
            columns["weight"] = pa.array(weights, type=pa.float64())
        return pa.table(columns)

    return build


@pytest.fixture(scope="session")
def toy_tokens(make_tokens: Callable[..., pa.Table]) -> pa.Table:
    """The toy corpus as a tokens table."""
    return make_tokens(*toy_corpus())


@pytest.fixture(scope="module")
def one_torch_thread():
    """On a small, shared CPU, torch's default intra-op threads spin against each other (a
    training step measured 50x slower with 2 threads than with 1 under load): pin 1 thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tokens_uri(toy_tokens, tokenizer, tmp_path, monkeypatch) -> str:
    """A finished `tokens` dataset of the toy corpus (one part + tokenizer.json) in `tmp_path`, and
    MLflow pointed at `tmp_path/mlflow.db`: what `train_one` reads."""
    import time

    from tasks.common.dataset import DatasetHandle

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    handle = DatasetHandle(str(tmp_path / "tokens"))
    part = handle.write_part("k", "part-00000.parquet", [toy_tokens])
    tokenizer.save(handle.work_file("k", "tokenizer.json"))
    handle.commit(stage="tokens", key="k", parts=[part], inputs=[], config_hash="c", code_version="v", started=time.time(), extra_files=["tokenizer.json"])
    return handle.uri
