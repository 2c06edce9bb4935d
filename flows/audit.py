"""Audit: representation, label skew, co-occurrence (nPMI) and filter impact per identity group; gates."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, artifact_key, summary
from tasks.audit.corpus_report import AuditReport
from tasks.audit.gates import enforce_gates
from tasks.audit.prefect_tasks import count_quarantine_task, count_shard_task, mitigation_for, report_headline, write_report_task
from tasks.common.dataset import DatasetHandle, Manifest
from tasks.common.stage import Stage, StageRun


class AuditStage(Stage):
    """`clean` (+ `quarantine`) -> `audit`: report.json/.md/.html, plots, record Parquet; a Prefect
    artifact; a `fail` gate stops the run after the report is written."""

    name = "audit"
    packages = ("audit",)

    def plan(self) -> list[StageRun]:
        """`audit`, keyed by clean (and quarantine when there is one) and the audit section."""
        self.clean = DatasetHandle(self.ctx.stage_uri("clean"))
        self.quarantine = DatasetHandle(self.ctx.stage_uri("quarantine"))
        self.inputs = [self.clean] + ([self.quarantine] if self.quarantine.read_manifest() is not None else [])
        return [self.start("audit", self.inputs, self.ctx.pipeline.audit)]

    def compute(self, units: list[StageRun]) -> list[Manifest]:
        """Count every shard (tasks), write the report, commit."""
        (run,), cfg = units, self.ctx.pipeline.audit
        counts = [count_shard_task.submit(uri, cfg) for uri in self.clean.part_uris()]
        filters = [count_quarantine_task.submit(uri, cfg) for uri in self.quarantine.part_uris()] if len(self.inputs) > 1 else []
        report, parts, files = write_report_task([c.result() for c in counts], [f.result() for f in filters], cfg, run.out.uri, run.key)
        return [
            run.commit(
                parts, {"headline": report_headline(report), "mitigation": mitigation_for(report, cfg), "gates_failed": report.gates_failed}, extra_files=files
            )
        ]

    def result(self, units: list[StageRun], outputs: list[Manifest], reused: bool) -> dict[str, Any]:
        """The summary with the headline and the mitigation; the report as an artifact; the gates."""
        (run,), (done,) = units, outputs
        from prefect.artifacts import create_markdown_artifact

        from tasks.audit.report import render_markdown  # imports matplotlib: not at flow import

        with run.out.fs.open(run.out.join("report.json"), "r") as handle:
            report = AuditReport.model_validate_json(handle.read())
        create_markdown_artifact(
            key=artifact_key(self.ctx.pipeline.name, "audit"),
            markdown=render_markdown(report),
            description=f"Corpus bias audit of {self.ctx.pipeline.name}: {done.counters.get('headline', '')}",
        )
        enforce_gates(report.gates)
        result = summary(done, reused)
        result["headline"] = done.counters.get("headline", "")
        result["mitigation"] = done.counters.get("mitigation", "none")
        return result


@flow(name="audit", log_prints=True)
def audit_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/audit` and its artifact; enforce the corpus gates."""
    return AuditStage(RunContext.load(config_path, pipeline, workspace)).run()
