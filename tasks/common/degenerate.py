"""Checks that a stage left enough rows for the next one; each failure is a `DegenerateDataError`
whose message names the pipeline, the source and the step that removed the rows, or how many
rows are needed."""

from __future__ import annotations

import math
from typing import Any

from tasks.common.errors import DegenerateDataError


def _sources(uris: list[str]) -> str:
    return " + ".join(uris)


def require_raw_rows(pipeline: str, source_uris: list[str], rows: int) -> None:
    """Raise when the source(s) gave no rows at all (empty files, an empty table)."""
    if rows == 0:
        raise DegenerateDataError(f"pipeline {pipeline}: source {_sources(source_uris)} has no rows; nothing to ingest")


def emptying_step(counters: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The first clean step (in order) that was given rows and kept none: (name, its counts)."""
    for name, count in (counters.get("steps") or {}).items():
        if count.get("rows_in", 0) > 0 and count.get("kept", 0) == 0:
            return name, count
    return None


def require_clean_rows(pipeline: str, source_uris: list[str], rows_in: int, kept: int, counters: dict[str, Any], quarantine_uri: str) -> None:
    """Raise when the clean stage kept no row; the message names the step that removed the last
    ones, its reasons, and where the quarantined rows are."""
    if kept > 0:
        return
    found = emptying_step(counters)
    if found is None:
        where = "no clean step kept any row"
    else:
        name, count = found
        reasons = ", ".join(f"{k}={v}" for k, v in (count.get("dropped") or {}).items())
        where = f"clean step `{name}` removed every remaining row ({count['rows_in']} in, 0 kept" + (f": {reasons}" if reasons else "") + ")"
    raise DegenerateDataError(
        f"pipeline {pipeline}: source {_sources(source_uris)}: {where}; all {rows_in} row(s) are in {quarantine_uri}; nothing left to tokenize"
    )


def require_splits(pipeline: str, splits: dict[str, int], test_fraction: float) -> None:
    """Raise when the split left no train or no test row: training and evaluation need at least one
    of each; the message says how many clean rows (per label) that takes."""
    train, validation, test = (int(splits.get(s, 0)) for s in ("train", "validation", "test"))
    if train > 0 and test > 0:
        return
    total = train + validation + test
    need = math.floor(0.5 / test_fraction) + 1 if test_fraction > 0 else None  # smallest n with round(n * test) >= 1
    hint = f"with split.test={test_fraction:g} that takes at least {need} distinct clean rows per label" if need else "split.test is 0: set it above 0"
    raise DegenerateDataError(
        f"pipeline {pipeline}: {total} clean row(s) split into train={train}, validation={validation}, test={test}; "
        f"training and evaluation need at least 1 train and 1 test row ({hint})"
    )
