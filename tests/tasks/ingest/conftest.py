"""Fixtures of the ingest tests: read a whole source through plan_shards + read_shard."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.readers import plan_shards, read_shard


def _read_all(source: SourceConfig, cfg: IngestConfig | None = None) -> pa.Table:
    cfg = cfg or IngestConfig()
    batches = [batch for shard in plan_shards(source, cfg) for batch in read_shard(shard, source, cfg)]
    assert all(batch.num_rows <= cfg.batch_rows for batch in batches)
    return pa.Table.from_batches(batches) if batches else pa.table({})


@pytest.fixture
def read_all() -> Callable[..., pa.Table]:
    """`read_all(source, cfg=None) -> pa.Table` of every shard's batches, in plan order."""
    return _read_all
