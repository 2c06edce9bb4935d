"""Window scoring of recommendations: exactly the window's active users, every known item
excluded (training history + earlier windows + this one), one output per (version, window), idempotent."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from tasks.score.incremental import output_path, pending_partitions, write_input_partition
from tasks.score.recommendations import is_event_partition, read_events, score_window, scoring_markdown, window_histories
from tasks.train.models.lstm_recommender import RecommenderConfig, RecommenderKind

ITEMS = [f"i{n}" for n in range(12)]


@pytest.fixture(scope="module")
def predictor():
    """A real (untrained, seeded) recommender over 12 items; users u1 and u2 have training histories."""
    rows = [("u1", "i0", 1), ("u1", "i1", 2), ("u1", "i2", 3), ("u2", "i3", 1), ("u2", "i4", 2)]
    rows += [("u9", item, 10 + n) for n, item in enumerate(ITEMS)]  # every item in the catalogue
    tokens = pa.table(
        {
            "id": [f"r{n:03d}" for n in range(len(rows))],
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "ts": pa.array([r[2] for r in rows], pa.int64()),
        }
    )
    kind, cfg = RecommenderKind(), RecommenderConfig(embedding_dim=4, hidden_size=4, top_k=5)
    prepared = kind.prepare(tokens, None, cfg)
    torch.manual_seed(0)
    return kind.predictor(kind.build(cfg, prepared.meta, 0), prepared.meta, None, cfg)


def events(rows: list[tuple[object, str, int]]) -> pa.Table:
    return pa.table(
        {"user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows], "ts": pa.array([r[2] for r in rows], pa.int64()), "rating": [5.0] * len(rows)}
    )


def test_histories_cover_earlier_windows_for_active_users_only(tmp_path):
    inbox = str(tmp_path / "inbox")
    write_input_partition(inbox, "2026-11-30T09.parquet", events([("u1", "i5", 100), ("u3", "i6", 101)]))
    write_input_partition(inbox, "2026-11-30T10.parquet", events([(1, "i8", 205), (2, "i7", 200), (1, "i9", 201)]))
    users, new_items, counts = window_histories(inbox, "2026-11-30T10.parquet")
    assert users == ["1", "2"]  # integer ids read as strings; u1 and u3 were active only in the earlier window
    assert new_items == [["i9", "i8"], ["i7"]]  # ordered by ts within the window
    assert counts == {"1": 2, "2": 1}
    users, new_items, _ = window_histories(inbox, "2026-11-30T09.parquet")  # a later window is not history
    assert users == ["u1", "u3"] and new_items == [["i5"], ["i6"]]


def test_window_output_scores_active_users_excludes_seen_and_is_idempotent(tmp_path, predictor):
    inbox, scores = str(tmp_path / "inbox"), str(tmp_path / "scores")
    write_input_partition(inbox, "w1.parquet", events([("u1", "i5", 100)]))
    write_input_partition(inbox, "w2.parquet", events([("u1", "i6", 200), ("u2", "i7", 201), ("new", "i0", 202)]))
    assert is_event_partition(inbox, "w2.parquet")
    written = [score_window(predictor, inbox, name, scores, "shop-rec", "3") for name in pending_partitions(inbox, scores, "3")]
    assert [(p.input, p.rows) for p in written] == [("w1.parquet", 1), ("w2.parquet", 3)]
    table = pq.read_table(output_path(scores, "3", "w2.parquet")).to_pylist()
    by_user = {row["user_id"]: row for row in table}
    assert set(by_user) == {"u1", "u2", "new"}
    assert not set(by_user["u1"]["items"]) & {"i0", "i1", "i2", "i5", "i6"}  # training + both windows
    assert not set(by_user["u2"]["items"]) & {"i3", "i4", "i7"}
    assert "i0" not in by_user["new"]["items"] and not by_user["new"]["fallback"]
    assert all(len(row["items"]) == 5 and row["model_version"] == "3" and row["window"] == "w2" for row in table)
    assert by_user["u1"]["window_events"] == 1
    assert pending_partitions(inbox, scores, "3") == []  # a rerun scores nothing
    assert pending_partitions(inbox, scores, "4") == ["w1.parquet", "w2.parquet"]  # a new version scores all windows
    result = {"model": "shop-rec", "version": "3", "output": scores, "new_partitions": ["w2.parquet"], "new_rows": 3, "total_rows": 4}
    assert "| w2.parquet | 3 | 3 |" in scoring_markdown("shop", result)


def test_history_partitions_are_not_event_windows_and_missing_columns_are_named(tmp_path):
    inbox = str(tmp_path / "inbox")
    write_input_partition(inbox, "demo.parquet", pa.table({"id": ["a"], "user_id": ["u1"], "history": [["i1"]]}))
    assert not is_event_partition(inbox, "demo.parquet")
    write_input_partition(inbox, "bad.parquet", pa.table({"user": ["u1"], "item_id": ["i1"]}))
    with pytest.raises(ValueError, match=r"bad.parquet: recommendation input needs the columns user_id and item_id; missing \['user_id'\]"):
        read_events(f"{inbox}/bad.parquet")
