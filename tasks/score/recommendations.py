"""Scheduled recommendations from interaction windows.

Input: the application's inbox folder holds one Parquet file per window (e.g. `2026-11-30T10.parquet`;
windows are ordered by file name) of NEW interactions since training, one row per event:

| column | type | |
|---|---|---|
| `user_id` | string (or integer) | required |
| `item_id` | string (or integer) | required; the catalogue's item ids |
| `ts` | int64 epoch seconds (or timestamp) | optional: orders events within a window |
| other columns | any | ignored |

Scoring window W recommends for exactly the users with an event in W: their history is the one
the model was trained with, followed by their events of every window up to and including W (name
order, then `ts`); every item in it is excluded. Output: `<scores>/model_version=<v>/<W>.parquet`
with `user_id, items, scores, fallback, window, window_events, model_name, model_version,
scored_at`, written atomically; a window already scored by this version is not scored again.
A partition with a `history` column (or no `item_id`) is scored row by row instead (`incremental.py`).
"""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.common.dataset import PARQUET_COMPRESSION
from tasks.common import storage
from tasks.common.storage import read_parquet_schema
from tasks.score.incremental import ScoredPartition, list_partitions, output_path

EVENT_COLUMNS = ("user_id", "item_id", "ts")


def is_event_partition(input_uri: str, partition: str) -> bool:
    """True when the partition holds interaction events (`user_id`, `item_id`), not histories."""
    names = read_parquet_schema(f"{input_uri.rstrip('/')}/{partition}").names
    return {"user_id", "item_id"} <= set(names) and "history" not in names


def read_events(uri: str, users: pa.Array | None = None) -> pa.Table:
    """One window's events (`user_id`, `item_id` as strings, `ts` int64 or null), optionally only
    of `users`; raises ValueError naming the file when a required column is missing."""
    names = read_parquet_schema(uri).names
    missing = [c for c in ("user_id", "item_id") if c not in names]
    if missing:
        raise ValueError(f"{uri}: recommendation input needs the columns user_id and item_id; missing {missing}")
    fs, path = fsspec.core.url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle, columns=[c for c in EVENT_COLUMNS if c in names])
    table = table.filter(pc.and_(pc.is_valid(table["user_id"]), pc.is_valid(table["item_id"])))
    columns = {c: pa.array([_id(v) for v in table[c].to_pylist()], pa.string()) for c in ("user_id", "item_id")}
    ts = table["ts"] if "ts" in table.column_names else pa.nulls(table.num_rows, pa.int64())
    if pa.types.is_timestamp(ts.type):
        ts = ts.cast(pa.timestamp("s")).cast(pa.int64())
    events = pa.table({**columns, "ts": ts.cast(pa.int64())})
    if users is not None:
        events = events.filter(pc.is_in(events["user_id"], value_set=users))
    return events


def _id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def window_histories(input_uri: str, partition: str) -> tuple[list[str], list[list[str]], dict[str, int]]:
    """The window's active users (first-seen order), each one's new items of every window up to
    this one (oldest first), and each one's number of events in this window."""
    window = read_events(f"{input_uri.rstrip('/')}/{partition}")
    users = list(dict.fromkeys(window["user_id"].to_pylist()))
    counts = pd.Series(window["user_id"].to_pylist(), dtype=object).value_counts().to_dict()
    active = pa.array(users, pa.string())
    frames = []
    for order, name in enumerate(n for n in list_partitions(input_uri) if n <= partition):
        events = window if name == partition else read_events(f"{input_uri.rstrip('/')}/{name}", active)
        frame = events.to_pandas()
        frame["window"], frame["row"] = order, range(len(frame))
        frames.append(frame)
    events = pd.concat(frames, ignore_index=True).sort_values(["window", "ts", "row"], kind="stable", na_position="first")
    grouped = events.groupby("user_id", sort=False)["item_id"].apply(list).to_dict()
    return users, [grouped.get(u, []) for u in users], {u: int(counts.get(u, 0)) for u in users}


def score_window(predictor: Any, input_uri: str, partition: str, output_uri: str, model_name: str, model_version: str) -> ScoredPartition:
    """Recommend for the users active in one window (see the module docstring) with a
    `RecommenderPredictor`; write `<output>/model_version=<v>/<partition>` atomically."""
    users, new_items, counts = window_histories(input_uri, partition)
    predictions = predictor.recommend(users, new_items) if users else pd.DataFrame({"items": [], "scores": [], "fallback": []})
    frame = pd.DataFrame({"user_id": users}).join(predictions.reset_index(drop=True))
    frame["window"] = posixpath.splitext(partition)[0]
    frame["window_events"] = [counts[u] for u in users]
    frame["model_name"], frame["model_version"] = model_name, model_version
    frame["scored_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    target = output_path(output_uri, model_version, partition)
    storage.write_parquet(target, table, compression=PARQUET_COMPRESSION)
    return ScoredPartition(input=partition, output=target, model_version=model_version, rows=table.num_rows)


def scoring_markdown(pipeline: str, result: dict[str, Any]) -> str:
    """A scoring run's result (from `score_application`) -> Markdown: rows scored, distinct users,
    model version and output path per new window."""
    lines = [
        f"### {pipeline}: recommendations by {result['model']} v{result['version']}",
        "",
        (f"{result['new_rows']} row(s) scored in {len(result['new_partitions'])} new window(s); {result['total_rows']} rows in {result['output']}"),
        "",
        "| window | rows | users | output |",
        "|---|---|---|---|",
    ]
    for name in result["new_partitions"]:
        target = output_path(result["output"], result["version"], name)
        fs, path = fsspec.core.url_to_fs(target)
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle, columns=["user_id"])
        lines.append(f"| {name} | {table.num_rows} | {pc.count_distinct(table['user_id']).as_py()} | {target} |")
    return "\n".join(lines) + "\n"
