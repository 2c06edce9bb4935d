"""Clean: raw -> clean + quarantine, phase by phase over shards; rows in = kept + quarantined."""
from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.runtime import RunContext, artifact_key, summary
from tasks.clean.base import StepCounters
from tasks.clean.plan import DedupPhase, build_plan
from tasks.clean.prefect_tasks import CleanTarget, apply_task, decide_task, row_phase_task, signatures_task
from tasks.common.dataset import DatasetHandle
from tasks.common.degenerate import require_clean_rows
from tasks.common.retry import storage_task_options
from tasks.common.stage import config_hash, start_stage
from tasks.ingest.config import expected_labels


def _step_table(counters: StepCounters) -> list[dict[str, Any]]:
    return [{"step": name, "rows_in": c.rows_in, "kept": c.kept, "dropped": sum(c.dropped.values()),
             "reasons": ", ".join(f"{k}={v}" for k, v in c.dropped.items()),
             "replaced": ", ".join(f"{k}={v}" for k, v in c.replaced.items())}
            for name, c in counters.steps.items()]


def _require_rows(pipeline: str, ctx: RunContext, totals: dict[str, Any]) -> None:
    require_clean_rows(pipeline, [s.uri for s in ctx.pipeline.sources], int(totals.get("rows_in", 0)),
                       int(totals.get("rows_kept", 0)), totals, ctx.stage_uri("quarantine"))


@flow(name="clean", log_prints=True)
def clean_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Run the configured clean steps over `raw`; write `clean` and `quarantine` (id, text, step, reason, ...)."""
    ctx = RunContext.load(config_path, pipeline, workspace)
    cfg = ctx.pipeline
    raw = DatasetHandle(ctx.stage_uri("raw"))
    flag = cfg.sources[0].errors == "quarantine"
    labels = expected_labels(cfg.sources)
    section = config_hash(cfg.clean, {"quarantine_encoding_errors": flag}, *([{"label_values": labels}] if labels else []))
    clean_run = start_stage("clean", ctx.stage_uri("clean"), [raw], section, ("clean",))
    q_run = start_stage("quarantine", ctx.stage_uri("quarantine"), [raw], section, ("clean",))
    done, q_done = clean_run.reusable(), q_run.reusable()
    if done is not None and q_done is not None:
        _require_rows(pipeline, ctx, done.counters)
        return {"clean": summary(done, True), "quarantine": summary(q_done, True)}
    target = CleanTarget(clean_uri=clean_run.out.uri, clean_key=clean_run.key, quarantine_uri=q_run.out.uri,
                         quarantine_key=q_run.key, steps=cfg.clean, quarantine_encoding_errors=flag,
                         batch_rows=cfg.ingest.batch_rows, label_values=labels)
    phases = build_plan(cfg.clean, flag, labels).phases
    retrying = storage_task_options(ctx.config.runner)  # transient storage errors only
    inputs = raw.part_uris()
    outcomes_all = []
    for i, phase in enumerate(phases):
        last = i == len(phases) - 1
        names = [f"part-{j:05d}.parquet" if last else f"phase-{i}/part-{j:05d}.parquet" for j in range(len(inputs))]
        q_names = [f"phase-{i}-part-{j:05d}.parquet" for j in range(len(inputs))]
        if isinstance(phase, DedupPhase):
            sigs = [signatures_task.with_options(**retrying).submit(target, i, uri, f"signatures-{i}/part-{j:05d}.parquet")
                    for j, uri in enumerate(inputs)]
            decisions = decide_task.with_options(**retrying)(target, i, [s.result() for s in sigs], f"decisions-{i}.parquet")
            futures = [apply_task.with_options(**retrying).submit(target, i, uri, decisions, n, q) for uri, n, q in zip(inputs, names, q_names)]
        else:
            futures = [row_phase_task.with_options(**retrying).submit(target, i, uri, n, q) for uri, n, q in zip(inputs, names, q_names)]
        outcomes = [f.result() for f in futures]
        outcomes_all.extend(outcomes)
        inputs = [target.work_uri(n) for n in names]
    counters = StepCounters()
    for outcome in outcomes_all:
        counters = counters.merge(StepCounters.model_validate(outcome.counters))
    final = outcomes_all[-len(inputs):] if inputs else []
    rows_in = raw.require_manifest().rows
    kept = sum(o.kept.rows for o in final)
    quarantined = sum(o.quarantined.rows for o in outcomes_all)
    if rows_in != kept + quarantined:
        raise RuntimeError(f"clean lost rows: raw {rows_in} != clean {kept} + quarantine {quarantined}")
    totals = {"rows_in": rows_in, "rows_kept": kept, "rows_quarantined": quarantined, **counters.model_dump()}
    q_manifest = q_run.commit([o.quarantined for o in outcomes_all], totals)
    manifest = clean_run.commit([o.kept for o in final], totals)
    create_table_artifact(key=artifact_key(pipeline, "clean-steps"), table=_step_table(counters),
                          description=f"{pipeline}: rows in {rows_in}, kept {kept}, quarantined {quarantined}")
    _require_rows(pipeline, ctx, totals)
    return {"clean": summary(manifest, False), "quarantine": summary(q_manifest, False)}
