"""Scoring of a PII redactor on a labelled fixture: recall and precision per type, from its output text.

The redactor is judged only by what it returns (text with `<TYPE>` placeholders), so the current and
any earlier implementation are measured the same way: the redacted text is aligned back onto the
original to recover the replaced spans. A gold item counts as found when spans of its type cover
at least `MIN_COVER` of its letters and digits; a replaced span counts as correct when it overlaps a
gold item of its type (anything else, e.g. an ISBN redacted as `<PHONE>`, is a false positive).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = re.compile(r"<([A-Z]+)>")
MIN_COVER = 0.8


@dataclass
class TypeScore:
    """Counts of one PII type: gold items, found items, predicted spans, correct spans."""

    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


@dataclass
class Report:
    """Scores per type plus the misses and false positives, for reading."""

    types: dict[str, TypeScore] = field(default_factory=dict)
    misses: list[tuple[str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str]] = field(default_factory=list)

    def score(self, kind: str) -> TypeScore:
        return self.types.setdefault(kind, TypeScore())


def load_cases(path: str | Path) -> list[dict]:
    """Read a jsonl fixture: one {text, spans: [{start, end, type}]} per line."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def replaced_spans(original: str, redacted: str) -> list[tuple[int, int, str]]:
    """The (start, end, type) spans of `original` that became `<TYPE>` placeholders in `redacted`."""
    parts = PLACEHOLDER.split(redacted)
    literals, kinds = parts[0::2], parts[1::2]
    if not kinds:
        return []
    pattern = "".join(re.escape(lit) + ("(.+?)" if i < len(kinds) else "") for i, lit in enumerate(literals))
    match = re.fullmatch(pattern, original, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"redacted text does not align with its original: {redacted!r}")
    return [(match.start(i + 1), match.end(i + 1), kinds[i].lower()) for i in range(len(kinds))]


def _alnum(text: str, start: int, end: int) -> set[int]:
    return {i for i in range(start, end) if text[i].isalnum()}


def score_cases(cases: Iterable[dict], redact: Callable[[list[str]], list[str]]) -> Report:
    """Redact every case's text with `redact` (list of texts in, redacted texts out) and score per type."""
    cases = list(cases)
    outputs = redact([c["text"] for c in cases])
    report = Report()
    for case, out in zip(cases, outputs):
        text = case["text"]
        predicted = replaced_spans(text, out)
        for gold in case["spans"]:
            kind = gold["type"]
            need = _alnum(text, gold["start"], gold["end"])
            covered = set().union(*[_alnum(text, s, e) for s, e, k in predicted if k == kind]) & need
            report.score(kind).gold += 1
            if need and len(covered) >= MIN_COVER * len(need):
                report.score(kind).found += 1
            else:
                report.misses.append((kind, text[gold["start"] : gold["end"]]))
        for start, end, kind in predicted:
            report.score(kind).predicted += 1
            if any(g["type"] == kind and g["start"] < end and start < g["end"] for g in case["spans"]):
                report.score(kind).correct += 1
            else:
                report.false_positives.append((kind, text[start:end]))
    return report


def table(report: Report) -> str:
    """A Markdown table: type, gold items, recall, predicted spans, precision; then the totals."""
    rows = ["| type | items | recall | redactions | precision |", "|---|---:|---:|---:|---:|"]
    total = TypeScore()
    for kind in sorted(report.types):
        s = report.types[kind]
        precision = f"{s.precision:.2f}" if s.predicted else "–"
        rows.append(f"| {kind} | {s.gold} | {s.recall:.2f} | {s.predicted} | {precision} |")
        total = TypeScore(total.gold + s.gold, total.found + s.found, total.predicted + s.predicted, total.correct + s.correct)
    rows.append(f"| all | {total.gold} | {total.recall:.2f} | {total.predicted} | {total.precision:.2f} |")
    return "\n".join(rows)
