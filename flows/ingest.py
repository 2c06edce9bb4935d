"""Ingest: the source(s), read shard by shard, become the `raw` dataset (zstd Parquet parts)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, summary
from tasks.common.dataset import Manifest
from tasks.common.retry import storage_task_options
from tasks.common.degenerate import require_raw_rows
from tasks.common.stage import Stage, StageRun, merge_counters
from tasks.ingest.fingerprint import source_fingerprint
from tasks.ingest.prefect_tasks import ingest_shard_task
from tasks.ingest.readers import plan_shards


class IngestStage(Stage):
    """Sources -> `raw`. Its cache key covers the sources' files (fingerprint), the shard plan and
    the ingest/interactions config; source k > 0 derives its ids under the namespace `source<k>/`."""

    name = "ingest"
    packages = ("ingest",)

    def plan(self) -> list[StageRun]:
        """The `raw` output keyed by the planned shards and the sources' fingerprints."""
        cfg = self.ctx.pipeline
        self.planned = [(source, shard) for k, source in enumerate(cfg.sources) for shard in plan_shards(source, cfg.ingest, f"source{k}/" if k else "")]
        shards = [shard for _, shard in self.planned]
        files = source_fingerprint(shards)
        if cfg.interactions is not None and cfg.interactions.items is not None:  # the items file is an input too
            files += source_fingerprint(plan_shards(cfg.interactions.items.reader_source(), cfg.ingest))
        shard_list = [shard.model_dump(mode="json") for shard in shards]
        return [self.start("raw", [], cfg.sources, cfg.ingest, files, shard_list, cfg.interactions)]

    def compute(self, units: list[StageRun]) -> list[Manifest]:
        """One task per shard, then the commit."""
        (run,), cfg = units, self.ctx.pipeline
        shard_task = ingest_shard_task.with_options(**storage_task_options(self.ctx.config.runner))  # transient errors only
        futures = [
            shard_task.submit(shard, source, cfg.ingest, run.out.uri, run.key, f"part-{i:05d}.parquet", cfg.interactions)
            for i, (source, shard) in enumerate(self.planned)
        ]
        parts = [future.result() for future in futures]
        require_raw_rows(self.ctx.pipeline.name, [s.uri for s in cfg.sources], sum(p.rows for p in parts))
        return [run.commit(parts, merge_counters(parts))]

    def result(self, units: list[StageRun], outputs: list[Manifest], reused: bool) -> dict[str, Any]:
        """The `raw` summary."""
        return summary(outputs[0], reused)


@flow(name="ingest", log_prints=True)
def ingest_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Read the pipeline's source(s) into `<data>/<pipeline>/raw`; reuse it when sources and config
    are unchanged."""
    return IngestStage(RunContext.load(config_path, pipeline, workspace)).run()
