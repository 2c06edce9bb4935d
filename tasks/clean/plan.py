"""The clean plan: configured steps grouped into phases the flow maps over shards.

A `RowPhase` runs consecutive row steps on one shard. A `DedupPhase` needs the whole corpus:
`signatures` per shard, one `decide` over all signatures, then `apply` per shard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from tasks.clean.base import Deduplicator, PhaseResult, RowStep, StepCount, StepCounters
from tasks.clean.config import CleanConfig
from tasks.clean.filters import EmptyFilter
from tasks.clean.pii import PiiParams, protect_quarantine
from tasks.clean.steps import STEPS

INPUT_STEP = "input"


def quarantine_schema(schema: pa.Schema) -> pa.Schema:
    """The quarantine's schema for a shard schema: its columns but `encoding_error`, plus `step`, `reason`."""
    fields = [f for f in schema if f.name != "encoding_error"]
    return pa.schema(fields + [pa.field("step", pa.string()), pa.field("reason", pa.string())])


def _quarantine(rows: pa.Table, step: str, reasons: pa.Array) -> pa.Table:
    if "encoding_error" in rows.column_names:
        rows = rows.drop_columns(["encoding_error"])
    rows = rows.append_column("step", pa.array([step] * rows.num_rows, pa.string()))
    return rows.append_column("reason", reasons.cast(pa.string()))


def _reason_counts(reasons: pa.Array) -> dict[str, int]:
    counts = pc.value_counts(reasons.drop_null()) if len(reasons) else []
    return dict(sorted((c["values"].as_py(), c["counts"].as_py()) for c in counts))


def _check_invariant(name: str, rows_in: int, kept: pa.Table, quarantined: pa.Table) -> None:
    if rows_in != kept.num_rows + quarantined.num_rows:
        raise RuntimeError(f"clean phase {name}: {rows_in} rows in != {kept.num_rows} kept + {quarantined.num_rows} quarantined")


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()


@dataclass
class RowPhase:
    """Consecutive row steps over one shard. The first phase also runs the implicit `input` check
    (reason `encoding` when `encoding_error` is true and quarantining was asked, else `empty` for blank text)."""

    steps: list[tuple[str, RowStep]]
    input_check: bool = False
    quarantine_encoding_errors: bool = False
    label_values: frozenset[str] | None = None  # expected labels: others get reason `unexpected_label`
    pii: PiiParams | None = None  # the pipeline's pii step: quarantined rows are stored as it says

    @property
    def name(self) -> str:
        return "+".join(key for key, _ in self.steps) or INPUT_STEP

    def _input_reasons(self, table: pa.Table) -> pa.Array:
        reasons = EmptyFilter().reasons(table.column("text").combine_chunks())
        if self.quarantine_encoding_errors and "encoding_error" in table.column_names:
            bad = pc.fill_null(table.column("encoding_error").combine_chunks(), False)
            reasons = pc.if_else(bad, pa.scalar("encoding"), reasons)
        if self.label_values is not None and "label" in table.column_names:
            label = table.column("label").combine_chunks()
            unexpected = pc.and_(pc.is_valid(label), pc.invert(pc.is_in(label, value_set=pa.array(sorted(self.label_values), label.type))))
            reasons = pc.if_else(pc.and_(unexpected, pc.is_null(reasons)), pa.scalar("unexpected_label"), reasons)
        return reasons

    def run(self, table: pa.Table) -> PhaseResult:
        """Take one shard; return kept rows (same schema), quarantined rows with step/reason, and counts."""
        rows_in = table.num_rows
        current = table
        dropped: list[pa.Table] = []
        counts: dict[str, StepCount] = {}
        steps: list[tuple[str, RowStep | None]] = ([(INPUT_STEP, None)] if self.input_check else []) + list(self.steps)
        for key, step in steps:
            n = current.num_rows
            text = current.column("text").combine_chunks()
            replaced: dict[str, int] = {}
            if step is None:
                reasons = self._input_reasons(current)
            else:
                out = step.process(text)
                if out.text is not text:
                    text_field = current.schema.field("text")
                    current = current.set_column(current.schema.get_field_index("text"), text_field, out.text.cast(text_field.type))
                current, more = step.process_columns(current)
                replaced = {k: out.replaced.get(k, 0) + more.get(k, 0) for k in {**out.replaced, **more}}
                reasons = out.reasons
            reason_counts: dict[str, int] = {}
            if reasons is not None and reasons.null_count < len(reasons):
                drop = pc.is_valid(reasons)
                dropped.append(_quarantine(current.filter(drop), key, reasons.filter(drop)))
                reason_counts = _reason_counts(reasons)
                current = current.filter(pc.invert(drop))
            counts[key] = StepCount(rows_in=n, kept=current.num_rows, dropped=reason_counts, replaced=replaced)
        quarantined = _concat(dropped, quarantine_schema(table.schema))
        _check_invariant(self.name, rows_in, current, quarantined)
        if self.pii is not None:
            quarantined = protect_quarantine(quarantined, self.pii)
        return PhaseResult(kept=current, quarantined=quarantined, counters=StepCounters(steps=counts))


@dataclass
class DedupPhase:
    """One corpus-wide step: `signatures` per shard, `decide` once, `apply` per shard."""

    key: str
    dedup: Deduplicator
    pii: PiiParams | None = None  # the pipeline's pii step: quarantined rows are stored as it says

    @property
    def name(self) -> str:
        return self.key

    def signatures(self, table: pa.Table) -> pa.Table:
        """Take one shard; return its small signature table (id + hash or LSH band keys)."""
        return self.dedup.signatures(table)

    def decide(self, signatures: list[pa.Table]) -> pa.Table:
        """Take all shards' signatures; return `id, reason, duplicate_of` for the rows to drop (sorted by id)."""
        return self.dedup.decide(signatures)

    def decide_parts(self, uris: list[str]) -> pa.Table:
        """Same as `decide`, from the signature Parquet parts on disk (memory bounded by one column at a time)."""
        return self.dedup.decide_parts(uris)

    def apply(self, table: pa.Table, decisions: pa.Table) -> PhaseResult:
        """Take one shard and the corpus decision; drop the shard's rows named in it."""
        position = pc.index_in(table.column("id"), value_set=decisions.column("id"))
        drop = pc.is_valid(position)
        reasons = pc.take(decisions.column("reason"), pc.drop_null(position)).combine_chunks() if decisions.num_rows else pa.array([], pa.string())
        kept = table.filter(pc.invert(drop))
        quarantined = _quarantine(table.filter(drop), self.key, reasons).cast(quarantine_schema(table.schema))
        _check_invariant(self.key, table.num_rows, kept, quarantined)
        if self.pii is not None:
            quarantined = protect_quarantine(quarantined, self.pii)
        counts = StepCount(rows_in=table.num_rows, kept=kept.num_rows, dropped=_reason_counts(reasons))
        return PhaseResult(kept=kept, quarantined=quarantined, counters=StepCounters(steps={self.key: counts}))


@dataclass
class CleanPlan:
    """The phases in configured order (consecutive row steps grouped)."""

    phases: list[RowPhase | DedupPhase] = field(default_factory=list)

    def run(self, shards: list[pa.Table]) -> tuple[list[pa.Table], pa.Table, StepCounters]:
        """Reference in-process driver (the flow does the same with tasks): shards in -> kept shards,
        all quarantined rows, merged counters."""
        counters = StepCounters()
        quarantined: list[pa.Table] = []
        for phase in self.phases:
            if isinstance(phase, DedupPhase):
                decisions = phase.decide([phase.signatures(shard) for shard in shards])
                results = [phase.apply(shard, decisions) for shard in shards]
            else:
                results = [phase.run(shard) for shard in shards]
            shards = [r.kept for r in results]
            quarantined += [r.quarantined for r in results]
            for r in results:
                counters = counters.merge(r.counters)
        schema = quarantine_schema(shards[0].schema) if shards else pa.schema([])
        return shards, _concat(quarantined, schema), counters


def build_plan(cfg: CleanConfig, quarantine_encoding_errors: bool, label_values: list[str] | None = None) -> CleanPlan:
    """Turn the step list into phases; the first phase is a RowPhase that also runs the `input` check
    (empty text, encoding errors when quarantined, labels outside `label_values` when given).
    With a `pii` step, every phase stores its quarantined rows as that step's `quarantine` option says."""
    labels = frozenset(label_values) if label_values is not None else None
    pii = next((params for _, params in cfg.steps() if isinstance(params, PiiParams)), None)
    phases: list[RowPhase | DedupPhase] = [
        RowPhase(steps=[], input_check=True, quarantine_encoding_errors=quarantine_encoding_errors, label_values=labels, pii=pii)
    ]
    seen: dict[str, int] = {}
    for name, params in cfg.steps():
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}#{seen[name]}"
        step = STEPS[name](params)
        if isinstance(step, Deduplicator):
            phases.append(DedupPhase(key=key, dedup=step, pii=pii))
        elif isinstance(phases[-1], RowPhase):
            phases[-1].steps.append((key, step))
        else:
            phases.append(RowPhase(steps=[(key, step)], pii=pii))
    return CleanPlan(phases=phases)
