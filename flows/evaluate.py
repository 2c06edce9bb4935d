"""Evaluate: every model of the pipeline on the held-out test split, per identity group, vs the champion."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext
from tasks.common.stage import Stage, WorkUnit
from tasks.evaluate.prefect_tasks import EvalJob, EvalOutcome, evaluate_model_task, evaluation_key, reusable_evaluation


class EvaluateStage(Stage):
    """`tokens` + each trained model -> `<data>/<pipeline>/evaluate/<model>/`; test metrics logged to
    each model's MLflow run (the work and its cache key are `tasks.evaluate.prefect_tasks`)."""

    name = "evaluate"
    packages = ("evaluate", "audit")

    def _job(self, name: str) -> EvalJob:
        ctx = self.ctx
        return EvalJob(
            **ctx.model_fields(name),
            tokens_uri=ctx.stage_uri("tokens"),
            out_uri=ctx.stage_uri(f"evaluate/{name}"),
            evaluate=ctx.pipeline.evaluate,
            audit=ctx.pipeline.audit,
            alias_champion=ctx.pipeline.registry.alias_champion,
        )

    def plan(self) -> list[WorkUnit]:
        """One unit per model, keyed by its training, the config, the champion, code and weights."""
        return [WorkUnit(job=(job := self._job(name)), key=evaluation_key(job)[0], find=reusable_evaluation) for name in self.ctx.pipeline.models]

    def compute(self, units: list[WorkUnit]) -> list[EvalOutcome]:
        """One task per model."""
        return [evaluate_model_task(unit.job) for unit in units]

    def result(self, units: list[WorkUnit], outputs: list[EvalOutcome], reused: bool) -> dict[str, Any]:
        """Per model: its test metrics and the fairness verdict."""
        return {unit.job.model_name: {**outcome.metrics, "fairness_passed": outcome.fairness_passed} for unit, outcome in zip(units, outputs)}


@flow(name="evaluate", log_prints=True)
def evaluate_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/evaluate/<model>/` and log test metrics to each model's MLflow run."""
    return EvaluateStage(RunContext.load(config_path, pipeline, workspace)).run()
