"""Prefect task of the ingest stage: a thin wrapper over `read_shard` (the shards are planned by
`flows.ingest.IngestStage.plan`, a plain call)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from prefect import task
from prefect.cache_policies import NONE

from tasks.common.dataset import DatasetHandle, PartResult
from tasks.common.retry import storage_task_options
from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.interactions import InteractionsConfig, interaction_batches
from tasks.ingest.readers import read_shard

FALLBACK_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("label", pa.string()), ("encoding_error", pa.bool_())])


@task(name="ingest-shard", cache_policy=NONE, **storage_task_options())
def ingest_shard_task(
    shard, source: SourceConfig, cfg: IngestConfig, out_uri: str, key: str, part: str, interactions: InteractionsConfig | None = None
) -> PartResult:
    """Stream one shard into one Parquet part of the raw dataset; reuse it if already written.
    With `interactions`, rows become standard interactions (`tasks/ingest/interactions.py`)."""
    out = DatasetHandle(out_uri)
    done = out.finished_part(key, part)
    if done is not None:
        return done
    counters = {"rows": 0, "encoding_errors": 0}

    def counted() -> Iterator[pa.RecordBatch]:
        batches = read_shard(shard, source, cfg)
        if interactions is not None:
            batches = interaction_batches(batches, interactions, cfg, counters)
        for batch in batches:
            counters["rows"] += batch.num_rows
            if "encoding_error" in batch.schema.names:
                counters["encoding_errors"] += int(pc.sum(batch.column("encoding_error")).as_py() or 0)
            yield batch

    return out.write_part(key, part, counted(), schema=FALLBACK_SCHEMA, counters=counters)
