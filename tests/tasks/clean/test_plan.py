import json

import pyarrow as pa
import pytest

from tasks.clean import CleanConfig, DedupPhase, RowPhase, StepCounters, build_plan, quarantine_schema

ROWS = {
    "id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
    "text": [
        "Great film<br />with a fine cast",
        "great film with a fine cast",
        "  ",
        "ok",
        "write to me@mail.org soon please",
        "broken \ufffd bytes here today",
        None,
    ],
    "label": ["pos", "pos", "neg", None, "pos", "neg", "neg"],
    "encoding_error": [False, False, False, False, False, True, False],
}


def test_phases_group_row_steps_in_order():
    cfg = CleanConfig.model_validate(["normalize", "length", "exact_dedup", "pii", "language", "near_dedup"])
    phases = build_plan(cfg, False).phases
    assert [type(p).__name__ for p in phases] == ["RowPhase", "DedupPhase", "RowPhase", "DedupPhase"]
    assert [k for k, _ in phases[0].steps] == ["normalize", "length"] and phases[0].input_check
    assert [k for k, _ in phases[2].steps] == ["pii", "language"] and not phases[2].input_check


def test_dedup_first_still_checks_input():
    phases = build_plan(CleanConfig.model_validate(["exact_dedup"]), True).phases
    assert isinstance(phases[0], RowPhase) and phases[0].steps == [] and isinstance(phases[1], DedupPhase)


def test_run_accounts_for_every_row():
    table = pa.table(ROWS)
    plan = build_plan(CleanConfig.default(), quarantine_encoding_errors=True)
    kept, quarantined, counters = plan.run([table.slice(0, 3), table.slice(3)])
    kept = pa.concat_tables(kept)
    assert kept.schema == table.schema
    assert kept.column("id").to_pylist() == ["r1", "r5"]
    assert kept.column("text").to_pylist() == ["Great film with a fine cast", "write to <EMAIL> soon please"]
    assert quarantined.schema == quarantine_schema(table.schema)
    got = sorted(zip(quarantined["id"].to_pylist(), quarantined["step"].to_pylist(), quarantined["reason"].to_pylist()))
    assert got == [
        ("r2", "exact_dedup", "duplicate"),
        ("r3", "input", "empty"),
        ("r4", "length", "too_short"),
        ("r6", "input", "encoding"),
        ("r7", "input", "empty"),
    ]
    assert counters.steps["input"].rows_in == 7 and counters.steps["pii"].replaced["email"] == 1
    assert kept.num_rows + quarantined.num_rows == table.num_rows
    assert StepCounters.model_validate(json.loads(json.dumps(counters.model_dump()))) == counters


def test_encoding_errors_kept_unless_quarantined():
    table = pa.table(ROWS)
    kept, quarantined, _ = build_plan(CleanConfig.model_validate([]), False).run([table])
    assert "r6" in kept[0].column("id").to_pylist()
    assert sorted(quarantined["reason"].to_pylist()) == ["empty", "empty"]


def test_carried_columns_and_empty_shards():
    table = pa.table(
        {"id": ["a"], "text": ["some longer text here"], "label": [None], "summary": ["s"]},
        schema=pa.schema([("id", pa.string()), ("text", pa.string()), ("label", pa.string()), ("summary", pa.string())]),
    )
    kept, quarantined, counters = build_plan(CleanConfig.default(), False).run([table, table.slice(0, 0)])
    assert kept[0].column("summary").to_pylist() == ["s"] and kept[1].num_rows == 0
    assert quarantined.num_rows == 0 and counters.steps["input"].rows_in == 1


def test_invariant_violation_raises():
    from tasks.clean.plan import _check_invariant

    table = pa.table({"id": ["a", "b"], "text": ["x", "y"]})
    _check_invariant("ok", 2, table.slice(0, 1), table.slice(1))
    with pytest.raises(RuntimeError, match="3 rows in != 1 kept \\+ 1 quarantined"):
        _check_invariant("lossy", 3, table.slice(0, 1), table.slice(1))
