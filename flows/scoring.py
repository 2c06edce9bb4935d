"""The body both scoring flows share: score the new partitions of one application's input."""
from __future__ import annotations

from typing import Any

from flows.runtime import RunContext
from tasks.score.prefect_tasks import (
    pending_partitions_task, resolve_version_task, score_partition_task, seed_demo_input_task,
    update_manifest_task,
)


def score_application(app_name: str, pipeline: str, config_path: str, workspace: str | None) -> dict[str, Any]:
    """Score the partitions of `applications.<app_name>.input` that the alias's version has not scored."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    app = getattr(ctx.pipeline.applications, app_name)
    if app is None:
        raise ValueError(f"pipelines.{pipeline}.applications.{app_name} is not configured")
    model_name = ctx.pipeline.registered_name(app.model)
    input_uri = app.input or ctx.stage_uri(f"inbox/{app_name}")
    output_uri = ctx.stage_uri(f"scores/{app_name}")
    if app.demo_input_rows:
        seed_demo_input_task(app_name, input_uri, app.demo_input_rows, ctx.pipeline.sources[0].seed)
    version = resolve_version_task(model_name, app.alias)
    pending = pending_partitions_task(input_uri, output_uri, version)
    futures = [
        score_partition_task.submit(model_name, version, input_uri, name, output_uri, app.batch_rows)
        for name in pending
    ]
    written = [future.result() for future in futures]
    manifest = update_manifest_task(output_uri, model_name)
    return {
        "model": model_name, "version": version, "input": input_uri, "output": output_uri,
        "new_partitions": [p.input for p in written], "new_rows": sum(p.rows for p in written),
        "total_rows": manifest.rows,
    }
