"""Base classes of clean steps, the per-step counters and a phase's result.

A `RowStep` sees one shard's text column and answers, per row, a new text (transforms) and a drop
reason or null (filters). It never touches other columns; the phase does the bookkeeping.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
CJK_CHAR = f"[{CJK_CLASS}]"


class StepParams(BaseModel):
    """Base of a step's parameters (YAML `{name: {params}}`); unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class StepCount(BaseModel):
    """Rows seen by one step, rows it kept, rows it dropped per reason, replacements per type."""

    model_config = ConfigDict(extra="forbid")

    rows_in: int = 0
    kept: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    replaced: dict[str, int] = Field(default_factory=dict)

    def merge(self, other: StepCount) -> StepCount:
        return StepCount(
            rows_in=self.rows_in + other.rows_in,
            kept=self.kept + other.kept,
            dropped=_add(self.dropped, other.dropped),
            replaced=_add(self.replaced, other.replaced),
        )


class StepCounters(BaseModel):
    """Counts per step name, in pipeline order; `merge` sums shards, `model_dump()` gives JSON."""

    model_config = ConfigDict(extra="forbid")

    steps: dict[str, StepCount] = Field(default_factory=dict)

    def merge(self, other: StepCounters) -> StepCounters:
        merged = dict(self.steps)
        for name, count in other.steps.items():
            merged[name] = merged[name].merge(count) if name in merged else count
        return StepCounters(steps=merged)

    @property
    def rows_dropped(self) -> int:
        return sum(sum(c.dropped.values()) for c in self.steps.values())


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return dict(sorted(out.items()))


@dataclass
class PhaseResult:
    """Kept rows (input schema), quarantined rows (input columns but `encoding_error`, plus step, reason), counts."""

    kept: pa.Table
    quarantined: pa.Table
    counters: StepCounters


@dataclass
class StepOutput:
    """What a row step answers for one text column: new text, reasons (null = keep), replacements per type."""

    text: pa.ChunkedArray | pa.Array
    reasons: pa.ChunkedArray | pa.Array | None = None
    replaced: dict[str, int] = field(default_factory=dict)


class RowStep(ABC):
    """A step that decides each row on its own text: a transform, a filter, or both. `name` is its
    YAML name and `params_class` its parameters' class; `tasks/clean/steps.py` registers it."""

    name: ClassVar[str] = "step"
    params_class: ClassVar[type[StepParams]] = StepParams

    @abstractmethod
    def process(self, text: pa.ChunkedArray) -> StepOutput:
        """Take the shard's text column (non-null strings) and return new text and/or drop reasons."""

    def process_columns(self, table: pa.Table) -> tuple[pa.Table, dict[str, int]]:
        """Take the shard's rows after `process`; return them with carried columns changed, and counts per type
        (default: unchanged; the `pii` step redacts carried string columns here)."""
        return table, {}


class Filter(RowStep):
    """A step that only decides keep-or-reason; it never changes the text."""

    @abstractmethod
    def reasons(self, text: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
        """Per row, a short reason to drop it, or null to keep it."""

    def process(self, text: pa.ChunkedArray) -> StepOutput:
        return StepOutput(text=text, reasons=self.reasons(text))


def first_reason(rules: list[tuple[pa.ChunkedArray | pa.Array, str]], length: int) -> pa.Array:
    """Combine boolean `fails` masks into one reason column: the first failing rule names the row."""
    reasons = pa.nulls(length, pa.string())
    for fails, reason in reversed(rules):
        reasons = pc.if_else(pc.fill_null(fails, False), pa.scalar(reason), reasons)
    return reasons


def cjk_chars(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Number of CJK (Han, kana, Hangul) characters per row."""
    return pc.count_substring_regex(text, CJK_CHAR)


def word_count(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Words per row: each CJK character counts as one, plus whitespace tokens holding a letter or digit."""
    latin = pc.replace_substring_regex(text, CJK_CHAR, " ")
    tokens = pc.count_substring_regex(latin, r"[^\s]*[\p{L}\p{N}][^\s]*")
    return pc.add(tokens, cjk_chars(text))


DECISION_SCHEMA = pa.schema([("id", pa.string()), ("reason", pa.string()), ("duplicate_of", pa.string())])


class Deduplicator(ABC):
    """A corpus-wide step: small per-shard signatures, one decision over all of them, applied per shard.
    `name` is its YAML name and `params_class` its parameters' class; `tasks/clean/steps.py` registers it."""

    name: ClassVar[str] = "dedup"
    params_class: ClassVar[type[StepParams]] = StepParams
    reason: str = "duplicate"

    @abstractmethod
    def signatures(self, table: pa.Table) -> pa.Table:
        """Take one shard (id, text, ...) and return a small table: `id` plus hash or band-key columns."""

    @abstractmethod
    def decide(self, signatures: list[pa.Table]) -> pa.Table:
        """Take every shard's signatures; return `id, reason, duplicate_of` (DECISION_SCHEMA) for rows to drop,
        sorted by id, the same whatever the order or number of shards."""

    def decide_parts(self, uris: list[str]) -> pa.Table:
        """Same as `decide`, from the shards' signature Parquet parts (read as the step needs, not all at once)."""
        from tasks.common.dataset import read_part

        return self.decide([read_part(uri) for uri in uris])
