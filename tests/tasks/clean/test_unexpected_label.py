"""Rows whose label is outside the source's `label_values` are quarantined by the clean stage's input
check with reason `unexpected_label`; unlabelled rows are not checked; rows in = kept + quarantined."""

from __future__ import annotations

import pyarrow as pa

from tasks.clean.config import CleanConfig
from tasks.clean.plan import build_plan


def test_unexpected_labels_are_quarantined():
    table = pa.table(
        {
            "id": ["1", "2", "3", "4"],
            "text": ["good one here", "bad one here", "meh one here", "x y z"],
            "label": ["positive", "negative", "neutral", None],
            "encoding_error": [False] * 4,
        }
    )
    plan = build_plan(CleanConfig.model_validate([]), False, label_values=["negative", "positive"])
    kept, quarantined, counters = plan.run([table])
    assert kept[0]["id"].to_pylist() == ["1", "2", "4"]
    assert quarantined.select(["id", "step", "reason"]).to_pylist() == [{"id": "3", "step": "input", "reason": "unexpected_label"}]
    assert counters.steps["input"].dropped == {"unexpected_label": 1}
    assert kept[0].num_rows + quarantined.num_rows == table.num_rows


def test_without_label_values_every_label_is_kept():
    table = pa.table({"id": ["1"], "text": ["a b c"], "label": ["anything"], "encoding_error": [False]})
    kept, quarantined, _ = build_plan(CleanConfig.model_validate([]), False).run([table])
    assert kept[0].num_rows == 1 and quarantined.num_rows == 0
