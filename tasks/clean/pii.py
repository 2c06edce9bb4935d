"""`pii`: personal data -> typed placeholders (`<EMAIL>`, `<CARD>`, `<IBAN>`, `<SSN>`, `<IP>`, `<PHONE>`,
`<ADDRESS>`, `<PERSON>`), in the text and in carried string columns; quarantined rows protected too.

Two passes per column: each type's RE2 prefilter runs over the whole column in pyarrow.compute
(cheap: most rows match none), then only the matching rows go through the exact Python detectors
(`tasks.clean.pii_numbers`, `tasks.clean.pii_names`). Types are taken in configured order; a span
overlapping one already taken is skipped. Recall/precision per type: `bench/pii.py`, docs/pii.md.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from tasks.clean.base import RowStep, StepOutput, StepParams
from tasks.clean.pii_names import NAME_DETECTORS
from tasks.clean.pii_numbers import DIGITS_PREFILTER, MASK, NUMBER_DETECTORS, Detector, phone_finder

PII_TYPES = ("email", "iban", "card", "ssn", "ip", "phone", "address", "person")  # IBAN before card: its digits can pass Luhn


class PiiParams(StepParams):
    """Replace personal data by typed placeholders (`<EMAIL>`, `<PHONE>`, ...), in the text and carried string
    columns; quarantined rows are stored redacted, hashed or kept as they are (`quarantine`)."""

    types: list[Literal["email", "iban", "card", "ssn", "ip", "phone", "address", "person"]] = Field(
        default_factory=lambda: list(PII_TYPES), description="types to redact, in this order (a span taken by an earlier type is not looked at again)"
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE", "FR", "IN", "CN"],
        min_length=1,
        description="ISO regions whose national phone formats are recognised (+<country> numbers always are)",
    )
    columns: Literal["all"] | list[str] = Field(default="all", description="carried string columns also redacted: `all` or a list of names ([] for none)")
    quarantine: Literal["redact", "hash", "keep"] = Field(
        default="redact", description="quarantined rows: text and those columns redacted, replaced by sha256:<hex>, or kept"
    )

    @model_validator(mode="after")
    def _known_regions(self) -> PiiParams:
        import phonenumbers

        unknown = [r for r in self.phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"phone_regions: unknown region code(s) {unknown}; use ISO 3166 codes such as US, GB, DE")
        return self


PLACEHOLDERS = {kind: f"<{kind.upper()}>" for kind in ("email", "card", "iban", "ssn", "ip", "phone", "address", "person")}
NOT_CARRIED = ("id", "text", "label", "encoding_error", "step", "reason")


def detectors(params: PiiParams) -> list[tuple[str, Detector]]:
    """The detectors of `params.types` as (type, detector) pairs, in configured order (a type may have several)."""
    known = [*NUMBER_DETECTORS.items(), ("phone", Detector(DIGITS_PREFILTER, phone_finder(list(params.phone_regions)))), *NAME_DETECTORS]
    return [(kind, detector) for wanted in params.types for kind, detector in known if kind == wanted]


def find_spans(text: str, found: list[tuple[str, Detector]]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) spans of PII in one string, earlier detectors first, sorted by start."""
    taken: list[tuple[int, int, str]] = []
    for kind, detector in found:
        for start, end in detector.find(text):
            if not any(start < e and s < end for s, e, _ in taken):
                taken.append((start, end, kind))
        if taken:  # later detectors see taken spans masked (an IP next to a phone must not break the phone)
            chars = list(text)
            for start, end, _ in taken:
                chars[start:end] = MASK * (end - start)
            text = "".join(chars)
    return sorted(taken)


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, kind in spans:
        out += [text[pos:start], PLACEHOLDERS[kind]]
        pos = end
    return "".join(out + [text[pos:]])


def redact(text: pa.Array | pa.ChunkedArray, types: list[str], params: PiiParams | None = None) -> tuple[pa.Array | pa.ChunkedArray, dict[str, int]]:
    """Replace each PII type of `types` (with `params`' other settings) in a string column; returns the new
    column (the input itself when nothing was found) and replacements per type."""
    params = (params or PiiParams()).model_copy(update={"types": list(types)})
    found = detectors(params)
    counts = dict.fromkeys(params.types, 0)
    if not found or len(text) == 0 or text.null_count == len(text):
        return text, counts
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    masks = [pc.fill_null(pc.match_substring_regex(text, d.prefilter), False) for _, d in found]
    rows = masks[0]
    for mask in masks[1:]:
        rows = pc.or_(rows, mask)
    candidates = pc.indices_nonzero(rows)
    if len(candidates) == 0:
        return text, counts
    values = pc.take(text, candidates).to_pylist()  # only the candidate rows become Python strings
    row_masks = [pc.take(mask, candidates).to_pylist() for mask in masks]
    changed = np.zeros(len(text), dtype=bool)
    new_values = []
    for j, (row, value) in enumerate(zip(candidates.to_pylist(), values)):
        spans = find_spans(value, [pair for pair, mask in zip(found, row_masks) if mask[j]])
        for _, _, kind in spans:
            counts[kind] += 1
        if spans:
            changed[row] = True
            new_values.append(_replace(value, spans))
    if not new_values:
        return text, counts
    return pc.replace_with_mask(text, pa.array(changed), pa.array(new_values, text.type)), counts


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def carried_text_columns(schema: pa.Schema, params: PiiParams) -> list[str]:
    """The carried columns `params.columns` names (`all`: every string column but id/text/label); a named
    column that is missing or not a string raises ValueError naming it."""
    if params.columns == "all":
        return [f.name for f in schema if f.name not in NOT_CARRIED and _is_text(f.type)]
    for name in params.columns:
        if name not in schema.names:
            raise ValueError(f"pii.columns: column {name!r} is not among the carried columns {schema.names}")
        field = schema.field(name)
        if not _is_text(field.type):
            raise ValueError(f"pii.columns: column {name!r} has type {field.type}, not a string")
    return list(params.columns)


def redact_columns(table: pa.Table, params: PiiParams, names: list[str]) -> tuple[pa.Table, dict[str, int]]:
    """Redact the string columns `names` of `table` in place of themselves; returns the table and counts per type."""
    counts: dict[str, int] = {}
    for name in names:
        index = table.schema.get_field_index(name)
        column, found = redact(table.column(name).combine_chunks(), list(params.types), params)
        if any(found.values()):
            table = table.set_column(index, table.schema.field(name), column.cast(table.schema.field(name).type))
        for kind, n in found.items():
            counts[kind] = counts.get(kind, 0) + n
    return table, counts


def _hash_column(column: pa.ChunkedArray) -> pa.Array:
    return pa.array([None if v is None else "sha256:" + hashlib.sha256(v.encode("utf-8")).hexdigest() for v in column.to_pylist()], pa.string())


def protect_quarantine(rows: pa.Table, params: PiiParams) -> pa.Table:
    """Quarantined rows as stored under `params.quarantine`: `redact` (text and carried string columns as the
    pii step would), `hash` (those columns replaced by `sha256:<hex>` of their value) or `keep` (unchanged)."""
    if params.quarantine == "keep" or rows.num_rows == 0:
        return rows
    names = ["text"] + carried_text_columns(rows.schema, params)
    if params.quarantine == "redact":
        return redact_columns(rows, params, names)[0]
    for name in names:
        index = rows.schema.get_field_index(name)
        rows = rows.set_column(index, rows.schema.field(name), _hash_column(rows.column(name)).cast(rows.schema.field(name).type))
    return rows


class Pii(RowStep):
    """Redact personal data in place in the text and the carried string columns; never drops a row.
    Replacements per type (text and columns together) land in `replaced`."""

    name = "pii"
    params_class = PiiParams

    def __init__(self, params: PiiParams) -> None:
        self.params = params

    def process(self, text: pa.ChunkedArray) -> StepOutput:
        new, counts = redact(text, list(self.params.types), self.params)
        return StepOutput(text=new, replaced=counts)

    def process_columns(self, table: pa.Table) -> tuple[pa.Table, dict[str, int]]:
        return redact_columns(table, self.params, carried_text_columns(table.schema, self.params))
