from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest

from tasks.tokenize.config import SplitConfig
from tasks.tokenize.split import assign_splits, attach_splits, split_table


def _corpus(n_pos: int = 700, n_neg: int = 250, n_null: int = 50) -> pa.Table:
    labels = ["pos"] * n_pos + ["neg"] * n_neg + [None] * n_null
    return pa.table({"id": [f"doc-{i:05d}" for i in range(len(labels))], "label": labels})


def _as_dict(table: pa.Table) -> dict[str, str]:
    return dict(zip(table["id"].to_pylist(), table["split"].to_pylist()))


def test_literal_small_example():
    table = pa.table({"id": [f"r{i}" for i in range(10)], "label": ["a"] * 10})
    out = split_table(table, SplitConfig(validation=0.2, test=0.1))
    assert out.column_names == ["id", "split"]
    assert Counter(out["split"].to_pylist()) == {"train": 7, "validation": 2, "test": 1}


def test_each_label_matches_the_target_proportions():
    table = _corpus()
    cfg = SplitConfig(validation=0.15, test=0.1)
    splits = split_table(table, cfg)["split"].to_pylist()
    for label, n in {"pos": 700, "neg": 250, None: 50}.items():
        got = Counter(s for s, lab in zip(splits, table["label"].to_pylist()) if lab == label)
        assert abs(got["test"] - n * 0.1) <= 1
        assert abs(got["validation"] - n * 0.15) <= 1
        assert got["train"] + got["validation"] + got["test"] == n


def test_deterministic_and_independent_of_order_and_sharding():
    table = _corpus()
    cfg = SplitConfig()
    reference = _as_dict(split_table(table, cfg))
    assert _as_dict(split_table(table, cfg)) == reference
    rows = table.to_pylist()
    random.Random(1).shuffle(rows)
    shards = [pa.Table.from_pylist(rows[i::3]) for i in range(3)]  # 3 shards, shuffled order
    concatenated = pa.concat_tables(shards[::-1])
    assert _as_dict(split_table(concatenated, cfg)) == reference
    chunked = pa.concat_tables([pa.Table.from_pylist(rows[i : i + 97]) for i in range(0, len(rows), 97)])
    assert _as_dict(split_table(chunked, cfg)) == reference


def test_seed_changes_the_assignment_and_none_stratum():
    table = _corpus()
    a = split_table(table, SplitConfig(seed=1))["split"].to_pylist()
    b = split_table(table, SplitConfig(seed=2))["split"].to_pylist()
    assert a != b
    plain = assign_splits(table["id"], None, SplitConfig(validation=0.1, test=0.2))
    assert Counter(plain.to_pylist()) == {"train": 700, "validation": 100, "test": 200}
    unstratified = split_table(table.select(["id"]), SplitConfig(stratify_column=None))
    assert unstratified.num_rows == 1000


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unique"):
        assign_splits(pa.array(["a", "a"]), None, SplitConfig())
    with pytest.raises(KeyError, match="sentiment"):
        split_table(pa.table({"id": ["a"]}), SplitConfig(stratify_column="sentiment"))


def test_attach_splits_keeps_shard_order_and_rejects_unknown_ids():
    table = _corpus()
    splits = split_table(table, SplitConfig())
    reference = _as_dict(splits)
    shard = table.slice(100, 50).take(list(range(49, -1, -1)))  # reversed order
    out = attach_splits(shard, splits)
    assert out["id"].to_pylist() == shard["id"].to_pylist()
    assert out["split"].to_pylist() == [reference[i] for i in shard["id"].to_pylist()]
    with pytest.raises(KeyError, match="1 ids"):
        attach_splits(pa.table({"id": ["doc-00001", "unknown"]}), splits)
