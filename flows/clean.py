"""Clean: raw -> clean + quarantine, phase by phase over shards; rows in = kept + quarantined."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, artifact_key, summary
from tasks.clean.base import StepCounters
from tasks.common.dataset import DatasetHandle, Manifest
from tasks.common.degenerate import require_clean_rows
from tasks.common.retry import storage_task_options
from tasks.common.stage import Stage, StageRun
from tasks.ingest.config import expected_labels


def _step_table(counters: StepCounters) -> list[dict[str, Any]]:
    return [
        {
            "step": name,
            "rows_in": c.rows_in,
            "kept": c.kept,
            "dropped": sum(c.dropped.values()),
            "reasons": ", ".join(f"{k}={v}" for k, v in c.dropped.items()),
            "replaced": ", ".join(f"{k}={v}" for k, v in c.replaced.items()),
        }
        for name, c in counters.steps.items()
    ]


class CleanStage(Stage):
    """`raw` -> `clean` + `quarantine` (id, text, step, reason, ...): the configured steps, phase
    by phase over shards (row phases stream, dedup phases decide corpus-wide)."""

    name = "clean"
    packages = ("clean",)

    def plan(self) -> list[StageRun]:
        """`clean` and `quarantine`, one key each, from `raw` and the clean section."""
        cfg = self.ctx.pipeline
        self.raw = DatasetHandle(self.ctx.stage_uri("raw"))
        self.flag = cfg.sources[0].errors == "quarantine"
        self.labels = expected_labels(cfg.sources)
        sections = (cfg.clean, {"quarantine_encoding_errors": self.flag}, *([{"label_values": self.labels}] if self.labels else []))
        return [self.start("clean", [self.raw], *sections), self.start("quarantine", [self.raw], *sections)]

    def compute(self, units: list[StageRun]) -> list[Manifest]:
        """Every phase over every shard (tasks), the row balance check, both commits."""
        from tasks.clean.plan import DedupPhase, build_plan  # the steps' machinery: only when computing
        from tasks.clean.prefect_tasks import CleanTarget, apply_task, decide_task, row_phase_task, signatures_task

        (clean_run, q_run), cfg = units, self.ctx.pipeline
        target = CleanTarget(
            clean_uri=clean_run.out.uri,
            clean_key=clean_run.key,
            quarantine_uri=q_run.out.uri,
            quarantine_key=q_run.key,
            steps=cfg.clean,
            quarantine_encoding_errors=self.flag,
            batch_rows=cfg.ingest.batch_rows,
            label_values=self.labels,
        )
        phases = build_plan(cfg.clean, self.flag, self.labels).phases
        retrying = storage_task_options(self.ctx.config.runner)  # transient storage errors only
        inputs = self.raw.part_uris()
        outcomes_all = []
        for i, phase in enumerate(phases):
            last = i == len(phases) - 1
            names = [f"part-{j:05d}.parquet" if last else f"phase-{i}/part-{j:05d}.parquet" for j in range(len(inputs))]
            q_names = [f"phase-{i}-part-{j:05d}.parquet" for j in range(len(inputs))]
            if isinstance(phase, DedupPhase):
                sigs = [signatures_task.with_options(**retrying).submit(target, i, uri, f"signatures-{i}/part-{j:05d}.parquet") for j, uri in enumerate(inputs)]
                decisions = decide_task.with_options(**retrying)(target, i, [s.result() for s in sigs], f"decisions-{i}.parquet")
                futures = [apply_task.with_options(**retrying).submit(target, i, uri, decisions, n, q) for uri, n, q in zip(inputs, names, q_names)]
            else:
                futures = [row_phase_task.with_options(**retrying).submit(target, i, uri, n, q) for uri, n, q in zip(inputs, names, q_names)]
            outcomes_all.extend(f.result() for f in futures)
            inputs = [target.work_uri(n) for n in names]
        counters = StepCounters()
        for outcome in outcomes_all:
            counters = counters.merge(StepCounters.model_validate(outcome.counters))
        final = outcomes_all[-len(inputs) :] if inputs else []
        rows_in = self.raw.require_manifest().rows
        kept = sum(o.kept.rows for o in final)
        quarantined = sum(o.quarantined.rows for o in outcomes_all)
        if rows_in != kept + quarantined:
            raise RuntimeError(f"clean lost rows: raw {rows_in} != clean {kept} + quarantine {quarantined}")
        totals = {"rows_in": rows_in, "rows_kept": kept, "rows_quarantined": quarantined, **counters.model_dump()}
        q_manifest = q_run.commit([o.quarantined for o in outcomes_all], totals)
        manifest = clean_run.commit([o.kept for o in final], totals)
        from prefect.artifacts import create_table_artifact

        create_table_artifact(
            key=artifact_key(self.ctx.pipeline.name, "clean-steps"),
            table=_step_table(counters),
            description=f"{self.ctx.pipeline.name}: rows in {rows_in}, kept {kept}, quarantined {quarantined}",
        )
        return [manifest, q_manifest]

    def result(self, units: list[StageRun], outputs: list[Manifest], reused: bool) -> dict[str, Any]:
        """Both summaries; a clean stage that kept too few rows is a user error."""
        done, q_done = outputs
        totals = done.counters
        require_clean_rows(
            self.ctx.pipeline.name,
            [s.uri for s in self.ctx.pipeline.sources],
            int(totals.get("rows_in", 0)),
            int(totals.get("rows_kept", 0)),
            totals,
            self.ctx.stage_uri("quarantine"),
        )
        return {"clean": summary(done, reused), "quarantine": summary(q_done, reused)}


@flow(name="clean", log_prints=True)
def clean_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Run the configured clean steps over `raw`; write `clean` and `quarantine`."""
    return CleanStage(RunContext.load(config_path, pipeline, workspace)).run()
