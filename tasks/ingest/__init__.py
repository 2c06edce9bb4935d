"""Ingest stage: any source (files, globs, folders, fsspec URLs, HF datasets, demo://) -> standard record batches.

Public API: `plan_shards(source, cfg) -> list[Shard]`, `read_shard(shard, source, cfg) -> Iterator[RecordBatch]`,
`SourceConfig`, `IngestConfig`, `IngestError`; synthetic corpora in `tasks.ingest.demo`.
"""

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.readers import IngestError, Shard, plan_shards, read_shard

__all__ = ["IngestConfig", "IngestError", "Shard", "SourceConfig", "plan_shards", "read_shard"]
