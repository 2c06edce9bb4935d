"""Interaction sources: MovieLens-shaped u.data/u.item through the normal readers, filters, config errors."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from corpusmill.config import ConfigError, parse_config
from tasks.ingest.interactions import interaction_batches
from tasks.ingest.readers import plan_shards, read_shard

GENRES = ["unknown", "Action", "Comedy", "Drama"]
U_DATA = "196\t242\t3\t881250949\n186\t302\t5\t891717742\n196\t302\t1\t881250950\n22\t999\t4\t878887116\n"
U_ITEM = "242|Café Society (1995)|01-Jan-1995||http://x|0|0|1|1\n302|L.A. Confidential (1997)|01-Jan-1997||http://y|0|1|0|0\n"


def movielens_config(tmp_path, **interactions) -> dict:
    (tmp_path / "u.data").write_text(U_DATA)
    (tmp_path / "u.item").write_bytes(U_ITEM.encode("latin-1"))
    items = {
        "uri": str(tmp_path / "u.item"),
        "format": "csv",
        "csv_delimiter": "|",
        "csv_quoting": False,
        "encoding": "latin-1",
        "csv_column_names": ["item_id", "title", "release", "video", "url", *GENRES],
        "id_column": "item_id",
        "text_column": "title",
        "flag_columns": GENRES,
    }
    return {
        "pipelines": {
            "ml": {
                "source": {"uri": str(tmp_path / "u.data"), "format": "tsv", "csv_column_names": ["user_id", "item_id", "rating", "ts"]},
                "interactions": {"time_column": "ts", "rating_column": "rating", "items": items, **interactions},
                "models": {"rec": {"kind": "lstm_recommender"}},
            }
        }
    }


def read_interactions(data: dict) -> tuple[pa.Table, dict]:
    pipeline = parse_config(data).pipelines["ml"]
    source, counters = pipeline.sources[0], {}
    batches = [
        b
        for shard in plan_shards(source, pipeline.ingest)
        for b in interaction_batches(read_shard(shard, source, pipeline.ingest), pipeline.interactions, pipeline.ingest, counters)
    ]
    return pa.Table.from_batches(batches), counters


def test_movielens_shaped_files_become_standard_interactions(tmp_path):
    table, counters = read_interactions(movielens_config(tmp_path))
    assert table.column_names == ["id", "text", "label", "user_id", "item_id", "ts", "rating", "item_groups", "encoding_error"]
    assert table.schema.field("ts").type == pa.int64() and table.schema.field("rating").type == pa.float64()
    rows = table.select(["user_id", "item_id", "ts", "rating", "text", "item_groups"]).to_pylist()
    assert rows[0] == {
        "user_id": "196",
        "item_id": "242",
        "ts": 881250949,
        "rating": 3.0,
        "text": "Café Society (1995). Comedy, Drama",
        "item_groups": "Comedy|Drama",
    }  # latin-1 decoded
    assert rows[1]["text"] == "L.A. Confidential (1997). Action" and rows[1]["item_groups"] == "Action"
    assert rows[3]["text"] == "999" and rows[3]["item_groups"] == ""  # an item missing from u.item keeps its id as text
    assert counters == {"missing_user_or_item": 0, "items_without_text": 1}


def test_min_rating_keeps_only_liked_items_and_counts_the_rest(tmp_path):
    table, counters = read_interactions(movielens_config(tmp_path, min_rating=3))
    assert table["rating"].to_pylist() == [3.0, 5.0, 4.0]
    assert counters["below_min_rating"] == 1


def test_own_column_names_iso_times_and_event_filter(tmp_path):
    path = tmp_path / "events.jsonl"
    rows = [
        {"visitor": "a", "sku": 7, "when": "2024-01-02T10:00:00", "kind": "view"},
        {"visitor": "a", "sku": 8, "when": "2024-01-02T10:00:05", "kind": "buy"},
        {"visitor": None, "sku": 9, "when": "2024-01-02T10:00:06", "kind": "buy"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = {
        "pipelines": {
            "ml": {
                "source": {"uri": str(path), "format": "jsonl"},
                "interactions": {"user_column": "visitor", "item_column": "sku", "time_column": "when", "event_column": "kind", "events": ["buy"]},
                "models": {"rec": {"kind": "lstm_recommender"}},
            }
        }
    }
    table, counters = read_interactions(data)
    assert table.select(["user_id", "item_id", "ts", "event", "text"]).to_pylist() == [
        {"user_id": "a", "item_id": "8", "ts": 1704189605, "event": "buy", "text": "8"}
    ]
    assert counters["missing_user_or_item"] == 1 and counters["other_events"] == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"min_rating": 4, "rating_column": None}, "pipelines.ml.interactions: Value error, min_rating needs rating_column"),
        ({"events": ["buy"]}, "pipelines.ml.interactions: Value error, events needs event_column"),
        ({"items": {"uri": "x", "format": "csv", "id_column": "i", "colour": 1}}, "pipelines.ml.interactions.items.colour: Extra inputs are not permitted"),
        ({"items": {"uri": "x", "format": "csv"}}, "pipelines.ml.interactions.items.id_column: Field required"),
        ({"user_column": "id"}, "interaction columns may not be named ['id']"),
        (
            {"items": {"uri": "x", "format": "csv", "id_column": "i", "flag_columns": ["label"]}},
            "pipelines.ml.interactions.items: Value error, columns may not carry the standard names ['label']",
        ),
        ({"time_column": 5}, "pipelines.ml.interactions.time_column: Input should be a valid string"),
    ],
)
def test_config_errors_name_the_key(tmp_path, change, expected):
    data = movielens_config(tmp_path)
    data["pipelines"]["ml"]["interactions"].update(change)
    with pytest.raises(ConfigError) as error:
        parse_config(data, "pipelines.yaml")
    assert expected in str(error.value)
