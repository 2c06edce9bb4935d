"""Degenerate data ends with a message naming the source and the step, or how many rows are needed."""

from __future__ import annotations

import pytest

from tasks.common.degenerate import require_clean_rows, require_raw_rows, require_splits
from tasks.common.errors import CorpusmillError, DegenerateDataError


def test_an_empty_source_is_named():
    with pytest.raises(DegenerateDataError, match=r"pipeline p: source /data/x.jsonl has no rows") as caught:
        require_raw_rows("p", ["/data/x.jsonl"], 0)
    assert isinstance(caught.value, CorpusmillError)
    require_raw_rows("p", ["/data/x.jsonl"], 1)


def test_the_clean_step_that_removed_everything_is_named():
    counters = {
        "steps": {
            "input": {"rows_in": 5, "kept": 3, "dropped": {"empty": 2}},
            "length": {"rows_in": 3, "kept": 0, "dropped": {"too_short": 3}},
            "pii": {"rows_in": 0, "kept": 0},
        }
    }
    with pytest.raises(
        DegenerateDataError,
        match=r"source s.csv: clean step `length` removed every remaining row "
        r"\(3 in, 0 kept: too_short=3\); all 5 row\(s\) are in q",
    ):
        require_clean_rows("p", ["s.csv"], 5, 0, counters, "q")
    require_clean_rows("p", ["s.csv"], 5, 1, counters, "q")


@pytest.mark.parametrize("splits", [{"train": 1}, {"train": 3, "validation": 1}, {}])
def test_too_few_rows_for_a_split_say_how_many_are_needed(splits):
    with pytest.raises(DegenerateDataError, match=r"need at least 1 train and 1 test row \(with split.test=0.1 that takes at least 6"):
        require_splits("p", splits, 0.1)
    require_splits("p", {"train": 8, "test": 1}, 0.1)
