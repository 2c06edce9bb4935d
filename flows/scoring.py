"""The body every scoring flow shares: the scoring stage (`ScoreStage`, the stage contract of
`tasks/common/stage.py`) over the new partitions of one application's input. Applications are
registered in `tasks/score/applications.py`; `run_applications` runs a pipeline's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect.artifacts import create_markdown_artifact

from flows.runtime import RunContext, artifact_key
from tasks.common.dataset import stable_hash
from tasks.common.retry import storage_task_options
from tasks.common.stage import Stage, StageContext, WorkUnit
from tasks.score.applications import APPLICATIONS
from tasks.score.prefect_tasks import pending_partitions_task, resolve_version_task, score_partition_task, seed_demo_input_task, update_manifest_task
from tasks.score.incremental import ScoredPartition, ScoresManifest, read_scores_manifest


@dataclass(frozen=True)
class ScoreJob:
    """What one scoring run of an application does: the model version the alias points to now and
    the input partitions that version has not scored yet."""

    version: str
    pending: tuple[str, ...]


class ScoreStage(Stage):
    """`applications.<app>.input` partitions -> `scores/<app>/model_version=<v>/` with
    `models:/<pipeline>-<model>@<alias>`, incrementally. Its one unit is the application: the key is
    the version and the pending partitions; it is reusable when nothing is pending (the scores
    manifest is read back), else `compute` scores each pending partition (one task each, retried on
    transient storage errors) and re-indexes the manifest."""

    name = "score"
    packages = ("score",)

    def __init__(self, ctx: StageContext, app_name: str) -> None:
        super().__init__(ctx)
        app = ctx.pipeline.applications.get(app_name)
        if app is None:
            raise ValueError(f"pipelines.{ctx.pipeline.name}.applications.{app_name} is not configured")
        self.app_name, self.app = app_name, app
        self.model_name = ctx.pipeline.registered_name(app.model)
        self.input_uri = app.input or ctx.stage_uri(f"inbox/{app_name}")
        self.output_uri = ctx.stage_uri(f"scores/{app_name}")
        self.written: list[ScoredPartition] = []

    def plan(self) -> list[WorkUnit]:
        """The demo input seeded when configured (idempotent: only into an empty folder), the alias
        resolved, the pending partitions listed: one unit keyed by version + pending partitions."""
        if self.app.demo_input_rows:
            seed_demo_input_task(self.app_name, self.input_uri, self.app.demo_input_rows, self.ctx.pipeline.sources[0].seed)
        version = resolve_version_task(self.model_name, self.app.alias)
        job = ScoreJob(version=version, pending=tuple(pending_partitions_task(self.input_uri, self.output_uri, version)))
        return [WorkUnit(job=job, key=stable_hash([version, list(job.pending)]), find=self._finished)]

    def _finished(self, job: ScoreJob, key: str) -> ScoresManifest | None:
        return None if job.pending else read_scores_manifest(self.output_uri)

    def compute(self, units: list[WorkUnit]) -> list[ScoresManifest]:
        """Each pending partition scored (tasks), then the scores manifest re-indexed."""
        job = units[0].job
        score = score_partition_task.with_options(**storage_task_options(self.ctx.config.runner))
        futures = [score.submit(self.model_name, job.version, self.input_uri, name, self.output_uri, self.app.batch_rows) for name in job.pending]
        self.written = [future.result() for future in futures]
        return [update_manifest_task(self.output_uri, self.model_name)]

    def result(self, units: list[WorkUnit], outputs: list[ScoresManifest], reused: bool) -> dict[str, Any]:
        """What was scored (nothing new when reused), and the Markdown artifact `<pipeline>-<app>-scores`."""
        pipeline = self.ctx.pipeline.name
        result = {
            "model": self.model_name,
            "version": units[0].job.version,
            "input": self.input_uri,
            "output": self.output_uri,
            "new_partitions": [p.input for p in self.written],
            "new_rows": sum(p.rows for p in self.written),
            "total_rows": outputs[0].rows,
        }
        markdown = scoring_markdown(self.app_name, result)
        extra = APPLICATIONS[self.app_name].report_markdown(pipeline, result)
        if extra:
            markdown += "\n" + extra
        create_markdown_artifact(
            key=artifact_key(pipeline, self.app_name, "scores"),
            markdown=markdown,
            description=f"{self.app_name} scored by {self.model_name} v{result['version']}",
        )
        return result


def score_application(app_name: str, pipeline: str, config_path: str, workspace: str | None) -> dict[str, Any]:
    """Score the partitions of `applications.<app_name>.input` that the alias's version has not scored
    (the body of each application's scoring flow: `ScoreStage(...).run()`)."""
    return ScoreStage(RunContext.load(config_path, pipeline, workspace), app_name).run()


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
        f"scores/{name}": APPLICATIONS[name].load_flow()(pipeline=pipeline, config_path=config_path, workspace=workspace)
        for name, _ in config.pipeline(pipeline).applications.items()
    }
