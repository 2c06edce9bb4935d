"""Evaluate: every model of the pipeline on the held-out test split, per identity group, vs the champion."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext
from tasks.evaluate.prefect_tasks import EvalJob, evaluate_model_task


@flow(name="evaluate", log_prints=True)
def evaluate_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/evaluate/<model>/` and log test metrics to each model's MLflow run."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    results: dict[str, Any] = {}
    for name, model in ctx.pipeline.models.items():
        job = EvalJob(pipeline=pipeline, model_name=name, registered_name=ctx.pipeline.registered_name(name),
                      model=model, tokens_uri=ctx.stage_uri("tokens"),
                      model_dir=str(ctx.workspace.model_dir(pipeline, name)),
                      out_uri=ctx.stage_uri(f"evaluate/{name}"), evaluate=ctx.pipeline.evaluate,
                      audit=ctx.pipeline.audit, alias_champion=ctx.pipeline.registry.alias_champion)
        outcome = evaluate_model_task(job)
        results[name] = {**outcome.metrics, "fairness_passed": outcome.fairness_passed}
    return results
