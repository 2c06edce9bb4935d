"""Register: each evaluated model as an MLflow pyfunc that takes raw input; aliases moved only through the gates."""
from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.runtime import RunContext, artifact_key
from tasks.register.prefect_tasks import RegisterJob, register_model_task


@flow(name="register", log_prints=True)
def register_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Register `<pipeline>-<model>` versions; the alias decision is a Prefect artifact and an alias-log line."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    if not ctx.pipeline.registry.enabled:
        return {}
    results: dict[str, Any] = {}
    for name, model in ctx.pipeline.models.items():
        job = RegisterJob(
            pipeline=pipeline, model_name=name, registered_name=ctx.pipeline.registered_name(name),
            description=ctx.pipeline.description, model=model,
            model_dir=str(ctx.workspace.model_dir(pipeline, name)),
            stage_uris={"clean": ctx.stage_uri("clean"), "audit": ctx.stage_uri("audit"),
                        "tokens": ctx.stage_uri("tokens"), "evaluate": ctx.stage_uri(f"evaluate/{name}")},
            registry=ctx.pipeline.registry, evaluate=ctx.pipeline.evaluate, alias_log=str(ctx.workspace.alias_log),
        )
        outcome = register_model_task(job)
        if outcome.markdown:
            create_markdown_artifact(key=artifact_key(pipeline, name, "alias"), markdown=outcome.markdown,
                                     description=f"Alias decision for {outcome.name} v{outcome.version}")
        results[name] = outcome.model_dump(exclude={"markdown"})
    return results
