"""Prefect tasks of the audit stage: count shards, then build, write and gate the report."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NONE

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import AuditCounts, FilterCounts, count_quarantine, count_shard, merge_counts, merge_filter_counts
from tasks.audit.corpus_report import AuditReport, build_report
from tasks.audit.gates import needs_mitigation
from tasks.common import storage
from tasks.common.dataset import DatasetHandle, PartResult, read_part

REPORT_FILES = ("report.json", "report.md", "report.html")
RECORD_LISTS = ("groups", "filter_impact", "npmi", "gates")


@task(name="audit-count-shard", cache_policy=NONE)
def count_shard_task(uri: str, cfg: AuditConfig) -> AuditCounts:
    """Group, label and word counts of one clean part."""
    return count_shard(read_part(uri), cfg)


@task(name="audit-count-quarantine", cache_policy=NONE)
def count_quarantine_task(uri: str, cfg: AuditConfig) -> FilterCounts:
    """Removed documents per cleaning step and group, from one quarantine part."""
    return count_quarantine(read_part(uri), cfg)


def report_headline(report: AuditReport) -> str:
    """One line for people: documents, groups found, gates that did not pass."""
    failed = ", ".join(report.gates_failed) or "none"
    return f"{report.total_docs} docs, {report.groups_present} groups present, gates not passed: {failed}"


@task(name="audit-write-report", cache_policy=NONE)
def write_report_task(
    counts: list[AuditCounts], filters: list[FilterCounts], cfg: AuditConfig, out_uri: str, key: str
) -> tuple[AuditReport, list[PartResult], list[str]]:
    """Merge counts, build the report, write report.json/.md/.html, PNG plots and one Parquet part
    per record list (groups, filter_impact, npmi, gates) into the audit work area."""
    from tasks.audit.report import make_plots, render_html, render_markdown  # matplotlib: only when writing

    out = DatasetHandle(out_uri)
    merged = merge_counts(counts, cfg.npmi_vocab_size)
    report = build_report(merged, merge_filter_counts(filters) if filters else None, cfg)
    with tempfile.TemporaryDirectory() as tmp:  # plots drawn locally, then uploaded (the data may be on S3)
        plots = make_plots(report, Path(tmp) / "plots")
        html = render_html(report, plots)  # self-contained: the plots are embedded
        files = [f"plots/{name}" for name in storage.upload_dir(Path(tmp) / "plots", out.work_uri(key, "plots"))]
    out.write_atomic_bytes(out.work_file(key, "report.json"), report.model_dump_json(indent=2).encode())
    out.write_atomic_bytes(out.work_file(key, "report.md"), render_markdown(report).encode())
    out.write_atomic_bytes(out.work_file(key, "report.html"), html.encode())
    parts = []
    for name in RECORD_LISTS:
        records = [r.model_dump(mode="json") for r in getattr(report, name)]
        for record in records:  # Arrow needs one type per column: keep nested values as JSON text
            for k, v in record.items():
                if isinstance(v, (dict, list)):
                    record[k] = json.dumps(v)
        table = pa.Table.from_pylist(records) if records else pa.table({"empty": pa.array([], pa.bool_())})
        parts.append(out.write_part(key, f"{name}.parquet", [table]))
    return report, parts, list(REPORT_FILES) + files


def mitigation_for(report: AuditReport, cfg: AuditConfig) -> str:
    """The mitigation the tokenize stage applies: `cfg.mitigation` when a gate asks for it, else none."""
    return cfg.mitigation if needs_mitigation(report.gates, cfg) else "none"
