"""Register: each evaluated model as an MLflow pyfunc that takes raw input; aliases moved only through the gates."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, artifact_key
from tasks.common.stage import Stage, WorkUnit
from tasks.register.prefect_tasks import RegisterJob, RegisterOutcome, finished_registration, register_model_task


class RegisterStage(Stage):
    """Each evaluated model -> a `<pipeline>-<model>` version; the alias decision is a Prefect artifact
    and an alias-log line (the work, resumable step by step, is `tasks.register.prefect_tasks`)."""

    name = "register"
    packages = ("register",)

    def _job(self, name: str) -> RegisterJob:
        ctx = self.ctx
        return RegisterJob(
            **ctx.model_fields(name),
            description=ctx.pipeline.description,
            stage_uris={
                "clean": ctx.stage_uri("clean"),
                "audit": ctx.stage_uri("audit"),
                "tokens": ctx.stage_uri("tokens"),
                "evaluate": ctx.stage_uri(f"evaluate/{name}"),
            },
            registry=ctx.pipeline.registry,
            evaluate=ctx.pipeline.evaluate,
            alias_log=str(ctx.workspace.alias_log),
        )

    def plan(self) -> list[WorkUnit]:
        """One unit per model (none when the registry is disabled)."""
        if not self.ctx.pipeline.registry.enabled:
            return []
        return [WorkUnit(job=self._job(name), key=name, find=lambda job, _: finished_registration(job)) for name in self.ctx.pipeline.models]

    def compute(self, units: list[WorkUnit]) -> list[RegisterOutcome]:
        """One task per model; a new alias decision becomes a Prefect markdown artifact."""
        outcomes = []
        for unit in units:
            outcome = register_model_task(unit.job)
            if outcome.markdown:
                from prefect.artifacts import create_markdown_artifact

                create_markdown_artifact(
                    key=artifact_key(self.ctx.pipeline.name, unit.job.model_name, "alias"),
                    markdown=outcome.markdown,
                    description=f"Alias decision for {outcome.name} v{outcome.version}",
                )
            outcomes.append(outcome)
        return outcomes

    def result(self, units: list[WorkUnit], outputs: list[RegisterOutcome], reused: bool) -> dict[str, Any]:
        """Per model: name, version, alias and why."""
        return {unit.job.model_name: outcome.model_dump(exclude={"markdown"}) for unit, outcome in zip(units, outputs)}


@flow(name="register", log_prints=True)
def register_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Register `<pipeline>-<model>` versions (see `RegisterStage`)."""
    return RegisterStage(RunContext.load(config_path, pipeline, workspace)).run()
