"""The `Stage` base: reuse when every output is current, compute otherwise, and a parent-flow probe
that never raises (the stage's own subflow raises where the error belongs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tasks.common.dataset import DatasetHandle
from tasks.common.stage import Stage, StageRun


@dataclass
class Ctx:
    """A minimal stage context: a data folder per stage under `root`."""

    root: Path
    config: Any = None
    pipeline: Any = None
    workspace: Any = None

    def stage_uri(self, stage: str) -> str:
        return str(self.root / stage)


class Upper(Stage):
    """`words` (a one-column dataset) -> `upper`, keyed by the input and a `suffix` config section."""

    name = "upper"
    packages = ("ingest",)  # any package: the code version is derived from it

    def __init__(self, ctx: Ctx, suffix: str) -> None:
        super().__init__(ctx)
        self.suffix, self.computed = suffix, 0

    def plan(self) -> list[StageRun]:
        self.words = DatasetHandle(self.ctx.stage_uri("words"))
        return [self.start("upper", [self.words], {"suffix": self.suffix})]

    def compute(self, units: list[StageRun]) -> list[Any]:
        (run,) = units
        self.computed += 1
        table = self.words.read_table()
        upper = pa.table({"w": [w.upper() + self.suffix for w in table["w"].to_pylist()]})
        return [run.commit([run.out.write_part(run.key, "part-00000.parquet", [upper])])]

    def result(self, units: list[StageRun], outputs: list[Any], reused: bool) -> dict[str, Any]:
        return {"rows": outputs[0].rows, "reused": reused, "hash": outputs[0].content_hash}


def _words(ctx: Ctx, words: list[str]) -> None:
    handle = DatasetHandle(ctx.stage_uri("words"))
    run = StageRun(stage="words", out=handle, inputs=[], config_hash="c", code_version="v", key=f"k{len(words)}")
    run.commit([handle.write_part(run.key, "part-00000.parquet", [pa.table({"w": words})])])


def test_run_computes_once_then_reuses_until_the_config_or_an_input_changes(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    _words(ctx, ["a", "b"])
    stage = Upper(ctx, "!")
    first = stage.run()
    again = Upper(ctx, "!")
    second = again.run()
    assert (first["reused"], second["reused"], again.computed) == (False, True, 0)
    assert first["hash"] == second["hash"] and second["rows"] == 2

    changed = Upper(ctx, "?")  # another config section: another key
    assert changed.run()["reused"] is False and changed.computed == 1
    _words(ctx, ["a", "b", "c"])  # another input: another key
    third = Upper(ctx, "?")
    out = third.run()
    assert (out["reused"], out["rows"], third.computed) == (False, 3, 1)


def test_a_damaged_output_is_not_reused(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    _words(ctx, ["a"])
    Upper(ctx, "!").run()
    (tmp_path / "upper" / "part-00000.parquet").write_bytes(b"not parquet")
    stage = Upper(ctx, "!")
    assert stage.reuse(stage.plan()) is None
    assert stage.run()["reused"] is False and stage.computed == 1


def test_the_parent_probe_leaves_errors_to_the_subflow(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)  # no `words` input at all: planning raises
    assert Upper(ctx, "!").reuse_in_parent("p") is None
    _words(ctx, ["a"])
    assert Upper(ctx, "!").reuse_in_parent("p") is None  # not computed yet: nothing to reuse


def test_brief_names_rows_or_models() -> None:
    from tasks.common.stage import brief

    assert brief({"uri": "x", "rows": 3}) == "3 rows"
    assert brief({"clean": {"rows": 2}, "quarantine": {"rows": 1}}) == "clean 2 rows, quarantine 1 rows"
    assert brief({"sentiment": {"run_id": "r"}}) == "sentiment"
    assert brief({}) == "nothing to do"
