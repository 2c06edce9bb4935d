"""Audit: representation, label skew, co-occurrence (nPMI) and filter impact per identity group; gates."""
from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.runtime import RunContext, artifact_key, summary
from tasks.audit.corpus_report import AuditReport
from tasks.audit.gates import enforce_gates
from tasks.audit.prefect_tasks import (
    count_quarantine_task, count_shard_task, mitigation_for, report_headline, write_report_task,
)
from tasks.audit.report import render_markdown
from tasks.common.dataset import DatasetHandle
from tasks.common.stage import config_hash, start_stage


@flow(name="audit", log_prints=True)
def audit_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/audit` (report.json/.md/.html, plots, record Parquet) and a Prefect
    artifact; a `fail` gate stops the run after the report is written."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    cfg = ctx.pipeline.audit
    clean = DatasetHandle(ctx.stage_uri("clean"))
    quarantine = DatasetHandle(ctx.stage_uri("quarantine"))
    inputs = [clean] + ([quarantine] if quarantine.read_manifest() is not None else [])
    run = start_stage("audit", ctx.stage_uri("audit"), inputs, config_hash(cfg), ("audit",))
    if (done := run.reusable()) is None:
        counts = [count_shard_task.submit(uri, cfg) for uri in clean.part_uris()]
        filters = [count_quarantine_task.submit(uri, cfg) for uri in quarantine.part_uris()] if len(inputs) > 1 else []
        report, parts, files = write_report_task([c.result() for c in counts], [f.result() for f in filters], cfg,
                                                 run.out.uri, run.key)
        done = run.commit(parts, {"headline": report_headline(report), "mitigation": mitigation_for(report, cfg),
                                  "gates_failed": report.gates_failed}, extra_files=files)
        reused = False
    else:
        reused = True
    with run.out.fs.open(run.out.join("report.json"), "r") as handle:
        report = AuditReport.model_validate_json(handle.read())
    create_markdown_artifact(key=artifact_key(pipeline, "audit"), markdown=render_markdown(report),
                             description=f"Corpus bias audit of {pipeline}: {done.counters.get('headline', '')}")
    enforce_gates(report.gates)
    result = summary(done, reused)
    result["headline"] = done.counters.get("headline", "")
    result["mitigation"] = done.counters.get("mitigation", "none")
    return result
