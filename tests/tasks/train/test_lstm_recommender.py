"""lstm_recommender: chronological leave-one-out, learning a toy chain, exclusions, fallbacks, bundle."""
from __future__ import annotations

import json
import random

import pandas as pd
import pyarrow as pa
import pytest

from tasks.train.bundle import load_predictor, save_bundle
from tasks.train.models.lstm_recommender import (
    RecommenderConfig,
    RecommenderKind,
    leave_one_out,
    popularity_metrics,
    user_sequences,
)
from tasks.train.trainer import train_model

FAST = {"epochs": 3, "batch_size": 32, "lr": 0.03, "progress": False, "early_stopping_patience": None, "schedule": "constant", "weight_decay": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def interactions(rows: list[tuple[str, str, int]]) -> pa.Table:
    """(user_id, item_id, ts) rows -> a tokens table as the tokenize stage writes it."""
    n = len(rows)
    return pa.table({
        "id": [f"r{i:04d}" for i in range(n)],
        "user_id": [r[0] for r in rows],
        "item_id": [r[1] for r in rows],
        "ts": pa.array([r[2] for r in rows], pa.int64()),
        "text": [f"item {r[1]}" for r in rows],
        "label": ["x"] * n,
        "input_ids": pa.array([[]] * n, pa.list_(pa.int32())),
        "length": pa.array([0] * n, pa.int32()),
        "split": ["train"] * n,
    })


LOG = interactions([
    ("u1", "c", 30), ("u2", "x", 5), ("u1", "a", 10), ("u1", "d", 40),
    ("u1", "b", 20), ("u2", "y", 6), ("u1", "e", 40), ("u3", "a", 1),
])


@pytest.mark.parametrize("num_layers", [1, 2])
def test_padded_forward_equals_the_packed_final_state(num_layers):
    """The model reads each history densely and takes the output at its last item: the same user
    vector as the packed run's top-layer h_n, whatever the padding holds."""
    import torch

    from tasks.train.models.lstm_recommender import LSTMRecommender

    torch.manual_seed(0)
    model = LSTMRecommender(9, RecommenderConfig(embedding_dim=6, hidden_size=5, num_layers=num_layers, dropout=0.0)).eval()
    history, lengths = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0], [7, 0, 0, 0]]), torch.tensor([4, 2, 1])
    packed = torch.nn.utils.rnn.pack_padded_sequence(model.item_embedding(history), lengths, batch_first=True, enforce_sorted=False)
    _, (h_n, _) = model.lstm(packed)
    expected = torch.nn.functional.linear(model.proj(h_n[-1]), model.item_embedding.weight, model.item_bias)
    expected[:, 0] = float("-inf")
    torch.testing.assert_close(model(history, lengths), expected)
    noisy = history.clone()
    noisy[1, 2:], noisy[2, 1:] = 8, 8
    torch.testing.assert_close(model(noisy, lengths), expected)


def test_user_sequences_sort_by_time_then_id():
    # u1's "d" (r0003) and "e" (r0006) share ts 40: the id decides
    assert user_sequences(LOG) == {"u3": ["a"], "u2": ["x", "y"], "u1": ["a", "b", "c", "d", "e"]}


def test_leave_one_out_on_a_literal_sequence():
    assert leave_one_out([1, 2, 3, 4, 5], max_history=2) == {
        "train": [([1], 2), ([1, 2], 3)],
        "validation": [([2, 3], 4)],
        "test": [([3, 4], 5)],
    }
    assert leave_one_out([7, 8], max_history=5) == {"train": [], "validation": [], "test": [([7], 8)]}
    assert leave_one_out([7], max_history=5) == {"train": [], "validation": [], "test": []}


def test_prepare_builds_item_vocabulary_and_splits(tokenizer):
    prepared = RecommenderKind().prepare(LOG, tokenizer, RecommenderConfig(max_history=3))
    meta = prepared.meta
    assert meta["items"] == ["a", "b", "c", "d", "e", "x", "y"]  # index = position + 1
    as_pairs = {s: [(e["history"].tolist(), e["target"]) for e in ex] for s, ex in prepared.splits.items()}
    assert as_pairs == {
        "train": [([1], 2), ([1, 2], 3)],
        "validation": [([1, 2, 3], 4)],
        "test": [([6], 7), ([2, 3, 4], 5)],  # users in order of first interaction
    }
    assert meta["item_counts"] == [0, 1, 1, 0, 0, 0, 0]
    assert meta["user_history"] == {"u3": ["a"], "u2": ["x", "y"], "u1": ["c", "d", "e"]}
    json.dumps(meta)  # meta must be JSON


def chain_log(users: int = 60, items: int = 24, length: int = 8, seed: int = 0) -> pa.Table:
    """Each user walks `length` consecutive items of a ring of `items`: the next item is always
    the successor of the last one, and never an item already seen."""
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        start = rng.randrange(items)
        rows += [(f"user{u}", f"item{(start + t) % items}", 1000 + t) for t in range(length)]
    return interactions(rows)


@pytest.fixture(scope="module")
def trained(tokenizer, tmp_path_factory):
    kind = RecommenderKind()
    cfg = RecommenderConfig(embedding_dim=16, hidden_size=32, dropout=0.0, max_history=5, top_k=3, train=FAST)
    prepared = kind.prepare(chain_log(), tokenizer, cfg)
    result = train_model(kind, cfg, prepared, tokenizer.get_vocab_size(), tmp_path_factory.mktemp("rec"))
    return kind, cfg, prepared, result


def test_learns_the_successor_pattern(trained):
    _, _, prepared, result = trained
    assert result.best_metrics["hit_at_1"] > 0.9, result.history
    assert result.best_metrics["hit_at_10"] >= result.best_metrics["hit_at_1"]
    assert result.best_metrics["mrr"] > popularity_metrics(prepared)["mrr"] + 0.5


def test_predictor_excludes_history_and_falls_back_for_unknown_users(trained, tokenizer):
    kind, cfg, prepared, result = trained
    predictor = kind.predictor(result.model.cpu(), prepared.meta, tokenizer, cfg)
    out = predictor.predict(pd.DataFrame({
        "user_id": ["user0", "nobody", "nobody", None],
        "history": [None, ["item3", "item4", "item5"], ["item4", "item5"], ["unknown-item"]],
    }))
    assert list(out.columns) == ["items", "scores", "fallback"]
    assert out["fallback"].tolist() == [False, False, False, True]
    stored = prepared.meta["user_history"]["user0"]
    assert not set(out["items"][0]) & set(stored)
    assert out["items"][1][0] == "item6" and "item4" not in out["items"][1]
    assert out["items"][2][0] == "item6"
    assert all(len(items) == cfg.top_k for items in out["items"])
    assert all(s == sorted(s, reverse=True) for s in out["scores"])
    counts = dict(zip(prepared.meta["items"], prepared.meta["item_counts"]))
    assert [counts[i] for i in out["items"][3]] == sorted(counts.values(), reverse=True)[: cfg.top_k]
    only_history = predictor.predict(pd.DataFrame({"history": [["item3"], []]}))
    assert only_history["items"][0][0] == "item4" and only_history["fallback"].tolist() == [False, True]


def test_bundle_round_trip_predicts_the_same(trained, tokenizer, tmp_path):
    kind, cfg, prepared, result = trained
    model = result.model.cpu()
    rows = pd.DataFrame({"user_id": ["user1", "user2", "ghost"], "history": [[], ["item0"], None]})
    before = kind.predictor(model, prepared.meta, tokenizer, cfg).predict(rows)
    save_bundle(tmp_path, kind.name, cfg, model, prepared.meta, tokenizer)
    after = load_predictor(tmp_path).predict(rows)
    pd.testing.assert_frame_equal(after, before)
    assert after["fallback"].tolist() == [False, False, True]


@pytest.mark.slow
@pytest.mark.shared_data
def test_movielens_beats_popularity(shared_data, tokenizer, tmp_path):
    path = shared_data / "movielens_100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    frame = pd.read_csv(path, sep="\t", names=["user_id", "item_id", "rating", "ts"])
    rows = list(zip(frame["user_id"].astype(str), frame["item_id"].astype(str), frame["ts"].astype(int)))
    kind = RecommenderKind()
    cfg = RecommenderConfig(
        embedding_dim=32, hidden_size=64, max_history=10,
        train={"epochs": 2, "batch_size": 256, "lr": 0.01, "progress": False, "eval_batch_size": 1024},
    )
    prepared = kind.prepare(interactions(rows), tokenizer, cfg)
    # every 4th training example keeps the run short on 2 CPU cores
    prepared.splits["train"] = prepared.splits["train"][::4]
    result = train_model(kind, cfg, prepared, tokenizer.get_vocab_size(), tmp_path)
    baseline = popularity_metrics(prepared)
    print("movielens validation", result.best_metrics, "popularity", baseline)
    assert result.best_metrics["hit_at_10"] > baseline["hit_at_10"], (result.best_metrics, baseline)
