"""Evaluate: every model of the pipeline on the held-out test split, per identity group, vs the champion."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import flow

from flows.runtime import RunContext
from tasks.common.errors import quiet_warnings
from tasks.common.stage import Stage
from tasks.evaluate.prefect_tasks import EvalJob, EvalOutcome, evaluate_model_task, evaluation_key, reusable_evaluation


@dataclass
class EvalUnit:
    """One model's evaluation as a unit of the stage contract."""

    job: EvalJob
    key: str

    def reusable(self) -> EvalOutcome | None:
        """The stored outcome when this evaluation is finished and intact, else None (quietly:
        `evaluate_one` checks again and says what it found)."""
        with quiet_warnings():
            return reusable_evaluation(self.job, self.key)


class EvaluateStage(Stage):
    """`tokens` + each trained model -> `<data>/<pipeline>/evaluate/<model>/`; test metrics logged to
    each model's MLflow run (the work and its cache key are `tasks.evaluate.prefect_tasks`)."""

    name = "evaluate"
    packages = ("evaluate", "audit")

    def _job(self, name: str) -> EvalJob:
        ctx = self.ctx
        return EvalJob(pipeline=ctx.pipeline.name, model_name=name, registered_name=ctx.pipeline.registered_name(name),
                       model=ctx.pipeline.models[name], tokens_uri=ctx.stage_uri("tokens"),
                       model_dir=str(ctx.workspace.model_dir(ctx.pipeline.name, name)),
                       out_uri=ctx.stage_uri(f"evaluate/{name}"), evaluate=ctx.pipeline.evaluate,
                       audit=ctx.pipeline.audit, alias_champion=ctx.pipeline.registry.alias_champion)

    def plan(self) -> list[EvalUnit]:
        """One unit per model, keyed by its training, the config, the champion, code and weights."""
        return [EvalUnit(job=(job := self._job(name)), key=evaluation_key(job)[0]) for name in self.ctx.pipeline.models]

    def compute(self, units: list[EvalUnit]) -> list[EvalOutcome]:
        """One task per model."""
        return [evaluate_model_task(unit.job) for unit in units]

    def result(self, units: list[EvalUnit], outputs: list[EvalOutcome], reused: bool) -> dict[str, Any]:
        """Per model: its test metrics and the fairness verdict."""
        return {unit.job.model_name: {**outcome.metrics, "fairness_passed": outcome.fairness_passed}
                for unit, outcome in zip(units, outputs)}


@flow(name="evaluate", log_prints=True)
def evaluate_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/evaluate/<model>/` and log test metrics to each model's MLflow run."""
    return EvaluateStage(RunContext.load(config_path, pipeline, workspace)).run()
