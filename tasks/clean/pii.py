"""`pii`: e-mails, payment cards (Luhn-checked), IPv4/IPv6 and phone numbers -> `<EMAIL>`, `<CARD>`, `<IP>`, `<PHONE>`.

Patterns are RE2 syntax so pyarrow.compute runs them over whole columns; only card candidates
go through Python (the `regex` package) for the Luhn check.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import regex

from tasks.clean.base import RowStep, StepOutput
from tasks.clean.config import PiiParams

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "card": r"\b(?:[0-9][ -]?){12,18}[0-9]\b",
    "ip": (
        rf"\b(?:{_OCTET}\.){{3}}{_OCTET}\b"
        rf"|(?:{_H}:){{7}}{_H}"
        rf"|(?:{_H}:){{1,7}}:(?:{_H}(?::{_H}){{0,6}})?"
        rf"|::(?:{_H}:){{0,6}}{_H}"
    ),
    "phone": (
        r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?\b[0-9]{2,4}[ .-][0-9]{3,4}[ .-]?[0-9]{3,4}\b"
        r"|\b1[3-9][0-9]{9}\b"
        r"|\+[0-9]{7,15}\b"
    ),
}
PLACEHOLDERS = {"email": "<EMAIL>", "card": "<CARD>", "ip": "<IP>", "phone": "<PHONE>"}
_CARD_RE = regex.compile(PATTERNS["card"])


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum (payment-card numbers do)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_span(candidate: str) -> tuple[int, int] | None:
    """The widest run of digit groups in a candidate that is a Luhn-valid 13-19 digit number, as (start, end)."""
    groups = [(m.start(), m.end()) for m in regex.finditer(r"[0-9]+", candidate)]
    best: tuple[int, int] | None = None
    for i in range(len(groups)):
        for j in range(len(groups) - 1, i - 1, -1):
            digits = "".join(candidate[s:e] for s, e in groups[i : j + 1])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                if best is None or groups[j][1] - groups[i][0] > best[1] - best[0]:
                    best = (groups[i][0], groups[j][1])
                break
    return best


def replace_cards(text: str) -> tuple[str, int]:
    """Replace Luhn-valid 13-19 digit numbers (groups split by spaces or dashes) by `<CARD>`; returns text, count."""
    count = 0

    def _sub(match: regex.Match) -> str:
        nonlocal count
        candidate = match.group(0)
        span = _card_span(candidate)
        if span is None:
            return candidate
        rest, more = replace_cards(candidate[span[1] :])
        count += 1 + more
        return candidate[: span[0]] + PLACEHOLDERS["card"] + rest

    return _CARD_RE.sub(_sub, text), count


def redact(text: pa.Array | pa.ChunkedArray, types: list[str]) -> tuple[pa.Array | pa.ChunkedArray, dict[str, int]]:
    """Replace each PII type in order; returns the new column and replacements per type."""
    counts: dict[str, int] = {}
    for kind in types:
        if kind == "card":
            mask = pc.match_substring_regex(text, PATTERNS["card"])
            found = 0
            if pc.any(mask).as_py():
                values = text.to_pylist()
                for i in pc.indices_nonzero(mask).to_pylist():
                    values[i], n = replace_cards(values[i])
                    found += n
                text = pa.array(values, pa.string())
        else:
            found = pc.sum(pc.count_substring_regex(text, PATTERNS[kind])).as_py() or 0
            if found:
                text = pc.replace_substring_regex(text, PATTERNS[kind], PLACEHOLDERS[kind])
        counts[kind] = int(found)
    return text, counts


class Pii(RowStep):
    """Redact personal data in place; never drops a row. Counts land in `replaced` per type."""

    name = "pii"

    def __init__(self, params: PiiParams) -> None:
        self.params = params

    def process(self, text: pa.ChunkedArray) -> StepOutput:
        new, counts = redact(text, list(self.params.types))
        return StepOutput(text=new, replaced=counts)
