"""Train: every model of the pipeline, one task each (sequential: each uses all cores)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext
from tasks.common.stage import Stage, StageContext, WorkUnit
from tasks.train.prefect_tasks import TrainJob, TrainRecord, record_summary, train_model_task, train_unit, training_order, with_pretrained_lm


class TrainStage(Stage):
    """`tokens` -> a bundle per model in `<workspace>/models/` and an MLflow run each.

    A classifier whose `pretrained_lm` names another model of the pipeline trains after it, from its
    bundle. An interrupted training continues from its last checkpoint, or starts over when `resume`
    is false (a finished training with the same cache key is reused either way). Each new MLflow
    run gets the config file as the artifact `config/<file>` and its hash as the tag `config_sha256`."""

    name = "train"
    packages = ("train",)

    def __init__(self, ctx: StageContext, config_path: str | None = None, resume: bool = True, config_sha256: str | None = None) -> None:
        super().__init__(ctx)
        self.config_path, self.resume, self.config_sha256 = config_path, resume, config_sha256

    def _job(self, name: str, trained: dict[str, TrainRecord]) -> TrainJob:
        ctx, pipeline = self.ctx, self.ctx.pipeline.name
        job = TrainJob(
            **ctx.model_fields(name),
            tokens_uri=ctx.stage_uri("tokens"),
            experiment=pipeline,
            artifact_root=str(ctx.workspace.mlflow_artifact_root),
            resume=self.resume,
            config_file=self.config_path,
            config_sha256=self.config_sha256,
        )
        return with_pretrained_lm(job, trained)

    def plan(self) -> list[WorkUnit]:
        """One unit per model in training order; a fine-tuned model's key includes its LM's key, so
        planning reads the LM's record (a missing one leaves the later keys to `compute`)."""
        units, trained = [], {}
        for name in training_order(self.ctx.pipeline.models):
            unit = train_unit(self._job(name, trained))
            if (record := unit.reusable()) is not None:
                trained[name] = record
            units.append(unit)
        return units

    def compute(self, units: list[WorkUnit]) -> list[TrainRecord]:
        """Train (or reuse) each model in order, one task each."""
        records: dict[str, TrainRecord] = {}
        for unit in units:
            name = unit.job.model_name
            records[name] = train_model_task(self._job(name, records))
        return [records[unit.job.model_name] for unit in units]

    def result(self, units: list[WorkUnit], outputs: list[TrainRecord], reused: bool) -> dict[str, Any]:
        """Per model: MLflow run, bundle, best epoch and validation metrics (config order)."""
        records = {unit.job.model_name: record for unit, record in zip(units, outputs)}
        for name, record in records.items():
            print(f"{name}: MLflow run {record.run_id}, best epoch {record.best_epoch}, validation {record.best_metrics}")
        return {name: record_summary(records[name]) for name in self.ctx.pipeline.models}


@flow(name="train", log_prints=True)
def train_flow(
    pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None, resume: bool = True, config_sha256: str | None = None
) -> dict[str, Any]:
    """Train the pipeline's models on `<data>/<pipeline>/tokens` (see `TrainStage`)."""
    return TrainStage(RunContext.load(config_path, pipeline, workspace), config_path, resume, config_sha256).run()
