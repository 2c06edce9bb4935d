"""lstm_recommender: chronological leave-last-out, every-prefix training, learning a toy chain,
sampled softmax, item text features, exclusions, fallbacks, bundle."""

from __future__ import annotations

import json
import random

import pandas as pd
import pyarrow as pa
import pytest
import torch

from tasks.train.bundle import load_predictor, save_bundle
from tasks.train.models.lstm_recommender import LSTMRecommender, RecommenderConfig, RecommenderKind, mask_seen, rank_metrics
from tasks.train.models.rec_data import leave_last_out, training_windows, user_sequences
from tasks.train.trainer import train_model

FAST = {"epochs": 6, "batch_size": 8, "lr": 0.03, "progress": False, "early_stopping_patience": None, "schedule": "constant", "weight_decay": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def interactions(rows: list[tuple[str, str, int]], texts: dict[str, list[int]] | None = None) -> pa.Table:
    """(user_id, item_id, ts) rows -> a tokens table as the tokenize stage writes it."""
    n = len(rows)
    ids = [(texts or {}).get(r[1], []) for r in rows]
    return pa.table(
        {
            "id": [f"r{i:04d}" for i in range(n)],
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "ts": pa.array([r[2] for r in rows], pa.int64()),
            "text": [f"item {r[1]}" for r in rows],
            "label": ["x"] * n,
            "input_ids": pa.array(ids, pa.list_(pa.int32())),
            "length": pa.array([len(i) for i in ids], pa.int32()),
            "split": ["train"] * n,
        }
    )


LOG = interactions([("u1", "c", 30), ("u2", "x", 5), ("u1", "a", 10), ("u1", "d", 40), ("u1", "b", 20), ("u2", "y", 6), ("u1", "e", 40), ("u3", "a", 1)])


def test_padded_forward_equals_the_packed_final_state():
    """The model reads each history densely and takes the output at its last item: the same user
    vector as the packed run's h_n, whatever the padding holds."""
    torch.manual_seed(0)
    model = LSTMRecommender(9, RecommenderConfig(embedding_dim=6, hidden_size=5, dropout=0.0)).eval()
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


def test_leave_last_out_on_literal_sequences():
    assert leave_last_out([1, 2, 3, 4, 5, 6], max_history=2) == {
        "train": [([1], [2]), ([2, 3], [3, 4])],  # every item from the 2nd on is a target once
        "validation": [([3, 4], [1, 2, 3, 4], 5)],  # (history window, all seen, target)
        "test": [([4, 5], [1, 2, 3, 4, 5], 6)],
    }
    assert leave_last_out([7, 8], max_history=5) == {"train": [], "validation": [], "test": [([7], [7], 8)]}
    assert leave_last_out([7], max_history=5) == {"train": [], "validation": [], "test": []}
    assert training_windows([1, 2, 3], max_history=5) == [([1, 2], [2, 3])]


def test_rank_metrics_hand_computed_and_seen_items_excluded():
    scores = torch.tensor([[float("-inf"), 0.9, 0.8, 0.1, 0.5], [float("-inf"), 0.1, 0.2, 0.3, 0.4]])
    seen = torch.tensor([[1, 0], [4, 3]])
    masked = mask_seen(scores, seen)
    # row 0: item 1 excluded -> target 3 is behind 2 and 4: rank 2; row 1: 4 and 3 excluded -> target 2 first
    metrics = rank_metrics(masked, torch.tensor([3, 2]))
    assert metrics["rank"].tolist() == [2.0, 0.0]
    assert metrics["rr"].tolist() == pytest.approx([1 / 3, 1.0])
    assert metrics["ndcg_at_10"].tolist() == pytest.approx([0.5, 1.0])


def test_prepare_builds_item_vocabulary_and_splits(tokenizer):
    prepared = RecommenderKind().prepare(LOG, tokenizer, RecommenderConfig(max_history=3))
    meta = prepared.meta
    assert meta["items"] == ["a", "b", "c", "d", "e", "x", "y"]  # index = position + 1
    train = [(e["inputs"].tolist(), e["targets"].tolist()) for e in prepared.splits["train"]]
    assert train == [([1, 2], [2, 3])]  # u1: a b c -> train, d validation, e test
    evals = {s: [(e["user"], e["history"].tolist(), e["seen"].tolist(), e["target"]) for e in prepared.splits[s]] for s in ("validation", "test")}
    assert evals == {"validation": [("u1", [1, 2, 3], [1, 2, 3], 4)], "test": [("u2", [6], [6], 7), ("u1", [2, 3, 4], [1, 2, 3, 4], 5)]}
    assert meta["item_counts"] == [1, 1, 1, 1, 0, 1, 0]  # every interaction before a user's last one
    assert meta["user_history"] == {"u3": ["a"], "u2": ["x", "y"], "u1": ["a", "b", "c", "d", "e"]}
    assert meta["item_groups"] == [["x"]] * 7  # from `label` when there is no item_groups column
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
    _, _, _, result = trained
    assert result.best_metrics["hit_at_1"] > 0.9, result.history
    assert result.best_metrics["hit_at_10"] >= result.best_metrics["hit_at_1"]


def test_sampled_softmax_with_history_dropout_learns_too(tokenizer, tmp_path):
    kind = RecommenderKind()
    cfg = RecommenderConfig(embedding_dim=16, hidden_size=32, dropout=0.0, history_dropout=0.1, max_history=5, loss="sampled", num_negatives=8, train=FAST)
    prepared = kind.prepare(chain_log(), tokenizer, cfg)
    result = train_model(kind, cfg, prepared, tokenizer.get_vocab_size(), tmp_path)
    assert result.best_metrics["hit_at_10"] > 0.8, result.history


def test_text_features_score_an_item_never_seen_in_training(tokenizer):
    """Item text tokens are part of the item vector: two items with the same words get the same
    text part, so an item that no training target used still gets a non-trivial vector."""
    words = {f"item{i}": [3 + i % 5] for i in range(24)}  # five token groups
    cfg = RecommenderConfig(embedding_dim=8, hidden_size=8, text_features=True, max_item_tokens=4)
    kind = RecommenderKind()
    log = chain_log()
    rows = list(zip(log["user_id"].to_pylist(), log["item_id"].to_pylist(), log["ts"].to_pylist()))
    prepared = kind.prepare(interactions(rows, words), tokenizer, cfg)
    assert prepared.meta["item_tokens"][1] == words[prepared.meta["items"][0]]
    model = kind.build(cfg, prepared.meta, tokenizer.get_vocab_size())
    torch.nn.init.zeros_(model.item_embedding.weight)
    vectors = model.item_vectors()
    same = [i + 1 for i, item in enumerate(prepared.meta["items"]) if words[item] == [3]]
    assert torch.allclose(vectors[same[0]], vectors[same[1]]) and vectors[same[0]].abs().sum() > 0


def test_predictor_excludes_history_and_falls_back_for_unknown_users(trained, tokenizer):
    kind, cfg, prepared, result = trained
    predictor = kind.predictor(result.model.cpu(), prepared.meta, tokenizer, cfg)
    out = predictor.predict(
        pd.DataFrame({"user_id": ["user0", "nobody", "nobody", None], "history": [None, ["item3", "item4", "item5"], ["item4", "item5"], ["unknown-item"]]})
    )
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
    # recommend(): stored history + new items, all excluded
    new = predictor.recommend(["user0"], [["item_never", stored[-1]]])
    assert not set(new["items"][0]) & set(stored)


def test_bundle_round_trip_predicts_the_same(trained, tokenizer, tmp_path):
    kind, cfg, prepared, result = trained
    model = result.model.cpu()
    rows = pd.DataFrame({"user_id": ["user1", "user2", "ghost"], "history": [[], ["item0"], None]})
    before = kind.predictor(model, prepared.meta, tokenizer, cfg).predict(rows)
    save_bundle(tmp_path, kind.name, cfg, model, prepared.meta, tokenizer)
    after = load_predictor(tmp_path).predict(rows)
    pd.testing.assert_frame_equal(after, before)
    assert after["fallback"].tolist() == [False, False, True]
