"""The body every scoring flow shares: score the new partitions of one application's input.
Applications are registered in `tasks/score/applications.py`; `run_applications` runs a pipeline's."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact

from flows.runtime import RunContext, artifact_key
from tasks.common.retry import storage_task_options
from tasks.score.applications import APPLICATIONS
from tasks.score.prefect_tasks import (
    pending_partitions_task,
    resolve_version_task,
    score_partition_task,
    seed_demo_input_task,
    update_manifest_task,
)


def score_application(app_name: str, pipeline: str, config_path: str, workspace: str | None) -> dict[str, Any]:
    """Score the partitions of `applications.<app_name>.input` that the alias's version has not scored."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    app = ctx.pipeline.applications.get(app_name)
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
        score_partition_task.with_options(**storage_task_options(ctx.config.runner)).submit(
            model_name, version, input_uri, name, output_uri, app.batch_rows
        )
        for name in pending
    ]
    written = [future.result() for future in futures]
    manifest = update_manifest_task(output_uri, model_name)
    result = {
        "model": model_name,
        "version": version,
        "input": input_uri,
        "output": output_uri,
        "new_partitions": [p.input for p in written],
        "new_rows": sum(p.rows for p in written),
        "total_rows": manifest.rows,
    }
    markdown = scoring_markdown(app_name, result)
    extra = APPLICATIONS[app_name].report_markdown(pipeline, result)
    if extra:
        markdown += "\n" + extra
    create_markdown_artifact(
        key=artifact_key(pipeline, app_name, "scores"),
        markdown=markdown,
        description=f"{app_name} scored by {model_name} v{version}",
    )
    return result


def scoring_markdown(app_name: str, result: dict[str, Any]) -> str:
    """The result of one scoring run for people: rows (users or documents) scored, by which model
    version, from where to where."""
    unit = APPLICATIONS[app_name].unit
    parts = "\n".join(f"| {p} |" for p in result["new_partitions"]) or "| (none: nothing new to score) |"
    return (
        f"# {app_name}: {result['new_rows']} {unit} scored\n\n"
        f"| model | version | new rows ({unit}) | total rows | output |\n|---|---|---|---|---|\n"
        f"| {result['model']} | {result['version']} | {result['new_rows']} | {result['total_rows']} | `{result['output']}` |\n\n"
        f"| new input partitions |\n|---|\n{parts}\n\ninput: `{result['input']}`\n"
    )


def run_applications(config: Any, pipeline: str, config_path: str, workspace: str) -> dict[str, Any]:
    """A loaded config + one pipeline's name -> each configured application's flow run, in registry
    order: `{"scores/<app>": its result}` (empty when the pipeline has none)."""
    return {
        f"scores/{name}": APPLICATIONS[name].load_flow()(
            pipeline=pipeline, config_path=config_path, workspace=workspace
        )
        for name, _ in config.pipeline(pipeline).applications.items()
    }
