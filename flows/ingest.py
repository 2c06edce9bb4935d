"""Ingest: the source(s), read shard by shard, become the `raw` dataset (zstd Parquet parts)."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, summary
from tasks.common.degenerate import require_raw_rows
from tasks.common.retry import storage_task_options
from tasks.common.stage import config_hash, merge_counters, start_stage
from tasks.ingest.fingerprint import source_fingerprint
from tasks.ingest.prefect_tasks import ingest_shard_task, plan_shards_task


@flow(name="ingest", log_prints=True)
def ingest_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Read the pipeline's source(s) into `<data>/<pipeline>/raw`; reuse it when sources and config
    are unchanged. Source k > 0 derives its ids under the namespace `source<k>/`."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    cfg = ctx.pipeline
    retrying = storage_task_options(ctx.config.runner)  # transient storage errors only
    plan_task, shard_task = plan_shards_task.with_options(**retrying), ingest_shard_task.with_options(**retrying)
    planned = [
        (source, shard)
        for k, source in enumerate(cfg.sources)
        for shard in plan_task(source, cfg.ingest, f"source{k}/" if k else "")
    ]
    shards = [shard for _, shard in planned]
    files = source_fingerprint(shards)
    if cfg.interactions is not None and cfg.interactions.items is not None:  # the items file is an input too
        items = cfg.interactions.items.reader_source()
        files += source_fingerprint(plan_task(items, cfg.ingest))
    shard_list = [shard.model_dump(mode="json") for shard in shards]
    run = start_stage("raw", ctx.stage_uri("raw"), [], config_hash(cfg.sources, cfg.ingest, files, shard_list, cfg.interactions), ("ingest",))
    if (done := run.reusable()) is not None:
        return summary(done, reused=True)
    futures = [
        shard_task.submit(shard, source, cfg.ingest, run.out.uri, run.key, f"part-{i:05d}.parquet",
                                 cfg.interactions)
        for i, (source, shard) in enumerate(planned)
    ]
    parts = [future.result() for future in futures]
    require_raw_rows(pipeline, [source.uri for source in cfg.sources], sum(part.rows for part in parts))
    return summary(run.commit(parts, merge_counters(parts)), reused=False)
