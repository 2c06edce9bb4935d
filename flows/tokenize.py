"""Tokenize: train an HF `tokenizers` tokenizer on the clean text, split by id hash, encode every shard."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, summary
from tasks.common.dataset import DatasetHandle
from tasks.common.stage import config_hash, merge_counters, start_stage
from tasks.tokenize.prefect_tasks import TOKENIZER_FILE, encode_shard_task, split_task, train_tokenizer_task


@flow(name="tokenize", log_prints=True)
def tokenize_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/tokens`: the clean rows plus split, input_ids, length, weight; and tokenizer.json."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    cfg = ctx.pipeline
    clean = DatasetHandle(ctx.stage_uri("clean"))
    audit = DatasetHandle(ctx.stage_uri("audit"))
    inputs = [clean] + ([audit] if audit.read_manifest() is not None else [])
    run = start_stage("tokens", ctx.stage_uri("tokens"), inputs, config_hash(cfg.tokenize, cfg.split, cfg.audit),
                      ("tokenize",))
    if (done := run.reusable()) is not None:
        return summary(done, reused=True)
    parts = clean.part_uris()
    tokenizer_path = train_tokenizer_task(parts, cfg.tokenize, run.out.uri, run.key)
    splits_uri = split_task(parts, cfg.split, run.out.uri, run.key)
    weights_uri = _mitigation_weights(ctx, audit, run)
    futures = [encode_shard_task.submit(uri, tokenizer_path, splits_uri, cfg.tokenize, run.out.uri, run.key,
                                        f"part-{i:05d}.parquet", weights_uri)
               for i, uri in enumerate(parts)]
    results = [f.result() for f in futures]
    manifest = run.commit(results, merge_counters(results), extra_files=[TOKENIZER_FILE])
    return summary(manifest, reused=False)


def _mitigation_weights(ctx: RunContext, audit: DatasetHandle, run: Any) -> str | None:
    """URI of `id, weight` instance weights when the audit chose the `reweight` mitigation."""
    return None
