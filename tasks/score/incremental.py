"""Incremental batch scoring: score the input partitions that have no output for a model version yet.

Input: a folder of Parquet partitions (`<name>.parquet`, e.g. one per day). Output:
`<out>/model_version=<v>/<name>.parquet`, one per scored input partition, each written atomically,
plus `_manifest.json` listing every output partition. Re-running the same window writes nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import datetime, UTC

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from tasks.common import storage
from tasks.common.dataset import MANIFEST_NAME, PARQUET_COMPRESSION


class ScoredPartition(BaseModel):
    """One output partition: which input it scored, with which model version, and its rows."""

    input: str
    output: str
    model_version: str
    rows: int


class ScoresManifest(BaseModel):
    """Index of a scores folder: every output partition written so far."""

    model_name: str
    partitions: list[ScoredPartition]
    rows: int
    updated_at: str


def list_partitions(input_uri: str) -> list[str]:
    """Names (without folder) of the Parquet partitions directly inside `input_uri`, sorted."""
    fs, path = fsspec.core.url_to_fs(input_uri)
    if not fs.exists(path):
        return []
    names = [posixpath.basename(p) for p in fs.ls(path, detail=False)]
    return sorted(n for n in names if n.endswith(".parquet") and not n.startswith(("_", ".")))


def output_path(output_uri: str, model_version: str, partition: str) -> str:
    """Where the scores of `partition` by `model_version` go."""
    return f"{output_uri.rstrip('/')}/model_version={model_version}/{partition}"


def pending_partitions(input_uri: str, output_uri: str, model_version: str) -> list[str]:
    """Input partitions that have no output for this model version yet."""
    fs, _ = fsspec.core.url_to_fs(output_uri)
    pending = []
    for name in list_partitions(input_uri):
        _, out = fsspec.core.url_to_fs(output_path(output_uri, model_version, name))
        if not fs.exists(out):
            pending.append(name)
    return pending


def score_partition(
    predict: Callable[[pd.DataFrame], pd.DataFrame], input_uri: str, partition: str, output_uri: str, model_name: str, model_version: str, batch_rows: int
) -> ScoredPartition:
    """Score one input partition in batches and write its output partition atomically.

    The output holds the input's key columns (`id`, `user_id` when present), the model's
    prediction columns, and `model_name`, `model_version`, `scored_at`.
    """
    in_fs, in_path = fsspec.core.url_to_fs(f"{input_uri.rstrip('/')}/{partition}")
    target = output_path(output_uri, model_version, partition)
    scored_at = datetime.now(UTC).isoformat(timespec="seconds")
    tables: list[pa.Table] = []
    with in_fs.open(in_path, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows):
            frame = batch.to_pandas()
            predictions = predict(frame).reset_index(drop=True)
            keys = frame[[c for c in ("id", "user_id") if c in frame.columns]].reset_index(drop=True)
            result = pd.concat([keys, predictions], axis=1)
            result["model_name"] = model_name
            result["model_version"] = model_version
            result["scored_at"] = scored_at
            tables.append(pa.Table.from_pandas(result, preserve_index=False))
    if not tables:
        raise ValueError(f"input partition {input_uri}/{partition} is empty or unreadable")
    table = pa.concat_tables(tables, promote_options="default")
    storage.write_parquet(target, table, compression=PARQUET_COMPRESSION)
    return ScoredPartition(input=partition, output=target, model_version=model_version, rows=table.num_rows)


def read_scores_manifest(output_uri: str) -> ScoresManifest | None:
    """The scores folder's `_manifest.json`, or None when it is missing or unreadable."""
    uri = storage.join(output_uri, MANIFEST_NAME)
    try:
        return ScoresManifest.model_validate_json(storage.read_bytes(uri)) if storage.exists(uri) else None
    except ValueError:  # a damaged manifest is rewritten by the next scoring run
        return None


def update_scores_manifest(output_uri: str, model_name: str) -> ScoresManifest:
    """Rewrite `_manifest.json` of the scores folder from the partitions present (atomically)."""
    fs, path = fsspec.core.url_to_fs(output_uri)
    partitions: list[ScoredPartition] = []
    if fs.exists(path):
        for found in sorted(fs.find(path)):
            if not found.endswith(".parquet") or ".tmp-" in found:
                continue
            version_dir = posixpath.basename(posixpath.dirname(found))
            if not version_dir.startswith("model_version="):
                continue
            with fs.open(found, "rb") as handle:
                rows = pq.ParquetFile(handle).metadata.num_rows
            partitions.append(ScoredPartition(input=posixpath.basename(found), output=found, model_version=version_dir.split("=", 1)[1], rows=rows))
    manifest = ScoresManifest(
        model_name=model_name, partitions=partitions, rows=sum(p.rows for p in partitions), updated_at=datetime.now(UTC).isoformat(timespec="seconds")
    )
    storage.write_atomic(fs, posixpath.join(path, MANIFEST_NAME), manifest.model_dump_json(indent=2).encode("utf-8"))
    return manifest


def write_input_partition(input_uri: str, name: str, table: pa.Table) -> str:
    """Drop one input partition into an input folder atomically (used to seed demo input)."""
    target = storage.join(input_uri, name)
    storage.write_parquet(target, table, compression=PARQUET_COMPRESSION)
    return target
