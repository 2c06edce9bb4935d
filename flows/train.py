"""Train: every model of the pipeline, one task each (sequential: each uses all cores)."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext
from tasks.train.prefect_tasks import TrainJob, record_summary, train_model_task


@flow(name="train", log_prints=True)
def train_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Train the pipeline's models on `<data>/<pipeline>/tokens`; bundles go to `<workspace>/models/`."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    results: dict[str, Any] = {}
    for name, model in ctx.pipeline.models.items():
        job = TrainJob(
            pipeline=pipeline, model_name=name, registered_name=ctx.pipeline.registered_name(name),
            model=model, tokens_uri=ctx.stage_uri("tokens"),
            model_dir=str(ctx.workspace.model_dir(pipeline, name)), experiment=pipeline,
            artifact_root=str(ctx.workspace.mlflow_artifact_root),
        )
        results[name] = record_summary(train_model_task(job))
    return results
