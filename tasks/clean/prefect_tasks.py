"""Prefect tasks of the clean stage: one shard per task, phase by phase (see `tasks.clean.plan`).

Row phases and dedup `apply` stream the shard batch by batch; kept rows go to the clean dataset's
work area, dropped rows to the quarantine's. Dedup phases first write per-shard signatures and
one corpus-wide decision file. Every part is reused on a retry of the same run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NONE
from pydantic import BaseModel

from tasks.common.retry import storage_task_options
from tasks.common.storage import read_parquet_schema
from tasks.clean.base import StepCounters
from tasks.clean.config import CleanConfig
from tasks.clean.plan import DedupPhase, RowPhase, build_plan, quarantine_schema
from tasks.common.dataset import DatasetHandle, PartResult, iter_part_batches, read_part


class CleanTarget(BaseModel):
    """Where one run of the clean stage writes: the two datasets and their run keys."""

    clean_uri: str
    clean_key: str
    quarantine_uri: str
    quarantine_key: str
    steps: CleanConfig
    quarantine_encoding_errors: bool
    batch_rows: int = 8192
    label_values: list[str] | None = None

    def phase(self, index: int) -> RowPhase | DedupPhase:
        """The phase `index` of the plan built from the configured steps."""
        return build_plan(self.steps, self.quarantine_encoding_errors, self.label_values).phases[index]

    def work_uri(self, name: str) -> str:
        """URI of a file in the clean dataset's work area."""
        return f"{self.clean_uri}/_work/{self.clean_key}/{name}"


class ShardOutcome(BaseModel):
    """A shard after one phase: its kept part, its quarantine part and the phase's counts."""

    kept: PartResult
    quarantined: PartResult
    counters: dict


def _run_phase_streamed(target: CleanTarget, index: int, in_uri: str, out_name: str, q_name: str, decisions: pa.Table | None) -> ShardOutcome:
    clean, quarantine = DatasetHandle(target.clean_uri), DatasetHandle(target.quarantine_uri)
    kept_done = clean.finished_part(target.clean_key, out_name)
    q_done = quarantine.finished_part(target.quarantine_key, q_name)
    if kept_done is not None and q_done is not None:
        return ShardOutcome(kept=kept_done, quarantined=q_done, counters=kept_done.counters)
    phase = target.phase(index)
    dropped: list[pa.Table] = []
    counts: dict = {}  # filled while streaming; write_part records it once the part is written
    merged = StepCounters()

    def kept_batches() -> Iterator[pa.Table]:
        nonlocal merged
        for batch in iter_part_batches(in_uri, batch_rows=target.batch_rows):
            table = pa.Table.from_batches([batch])
            result = phase.apply(table, decisions) if isinstance(phase, DedupPhase) else phase.run(table)
            merged = merged.merge(result.counters)
            counts.clear()
            counts.update(merged.model_dump())
            if result.quarantined.num_rows:
                dropped.append(result.quarantined)
            yield result.kept

    in_schema = read_parquet_schema(in_uri)
    q_schema = quarantine_schema(in_schema)
    # kept first (its stream fills `dropped`), quarantine last: a finished quarantine part means both are done
    kept = clean.write_part(target.clean_key, out_name, kept_batches(), schema=in_schema, counters=counts)
    q_part = quarantine.write_part(target.quarantine_key, q_name, [t.cast(q_schema) for t in dropped], schema=q_schema)
    return ShardOutcome(kept=kept, quarantined=q_part, counters=kept.counters)


@task(name="clean-row-phase", cache_policy=NONE, **storage_task_options())
def row_phase_task(target: CleanTarget, index: int, in_uri: str, out_name: str, q_name: str) -> ShardOutcome:
    """Run the row steps of phase `index` over one shard."""
    return _run_phase_streamed(target, index, in_uri, out_name, q_name, decisions=None)


@task(name="clean-dedup-signatures", cache_policy=NONE, **storage_task_options())
def signatures_task(target: CleanTarget, index: int, in_uri: str, sig_name: str) -> str:
    """Write the dedup signatures of one shard; return their URI."""
    clean = DatasetHandle(target.clean_uri)
    if clean.finished_part(target.clean_key, sig_name) is None:
        phase = target.phase(index)
        assert isinstance(phase, DedupPhase)
        batches = (phase.signatures(pa.Table.from_batches([b])) for b in iter_part_batches(in_uri, batch_rows=target.batch_rows))
        empty = phase.signatures(read_parquet_schema(in_uri).empty_table())  # the schema when the shard has no rows left
        clean.write_part(target.clean_key, sig_name, batches, schema=empty.schema)
    return target.work_uri(sig_name)


@task(name="clean-dedup-decide", cache_policy=NONE, **storage_task_options())
def decide_task(target: CleanTarget, index: int, signature_uris: list[str], decision_name: str) -> str:
    """Decide corpus-wide which rows are duplicates; write `id, reason, duplicate_of`; return its URI."""
    clean = DatasetHandle(target.clean_uri)
    if clean.finished_part(target.clean_key, decision_name) is None:
        phase = target.phase(index)
        assert isinstance(phase, DedupPhase)
        decisions = phase.decide_parts(signature_uris)
        clean.write_part(target.clean_key, decision_name, [decisions], schema=decisions.schema)
    return target.work_uri(decision_name)


@task(name="clean-dedup-apply", cache_policy=NONE, **storage_task_options())
def apply_task(target: CleanTarget, index: int, in_uri: str, decisions_uri: str, out_name: str, q_name: str) -> ShardOutcome:
    """Drop the rows of one shard that the corpus-wide decision names."""
    return _run_phase_streamed(target, index, in_uri, out_name, q_name, decisions=read_part(decisions_uri))
