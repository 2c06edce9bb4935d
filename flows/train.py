"""Train: every model of the pipeline, one task each (sequential: each uses all cores)."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext
from tasks.train.prefect_tasks import TrainJob, TrainRecord, record_summary, train_model_task, training_order, with_pretrained_lm


@flow(name="train", log_prints=True)
def train_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None,
               resume: bool = True, config_sha256: str | None = None) -> dict[str, Any]:
    """Train the pipeline's models on `<data>/<pipeline>/tokens`; bundles go to `<workspace>/models/`.
    A classifier whose `pretrained_lm` names another model of the pipeline trains after it, from its
    bundle. An interrupted training continues from its last checkpoint, or starts over when `resume`
    is false (a finished training with the same cache key is reused either way). Each new MLflow
    run gets the config file as the artifact `config/<file>` and its hash as the tag `config_sha256`."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    records: dict[str, TrainRecord] = {}
    for name in training_order(ctx.pipeline.models):
        job = TrainJob(
            pipeline=pipeline, model_name=name, registered_name=ctx.pipeline.registered_name(name),
            model=ctx.pipeline.models[name], tokens_uri=ctx.stage_uri("tokens"),
            model_dir=str(ctx.workspace.model_dir(pipeline, name)), experiment=pipeline,
            artifact_root=str(ctx.workspace.mlflow_artifact_root), resume=resume,
            config_file=config_path, config_sha256=config_sha256,
        )
        records[name] = train_model_task(with_pretrained_lm(job, records))
        print(f"{name}: MLflow run {records[name].run_id}, best epoch {records[name].best_epoch}, "
              f"validation {records[name].best_metrics}")
    return {name: record_summary(records[name]) for name in ctx.pipeline.models}
