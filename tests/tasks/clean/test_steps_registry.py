"""Clean steps come from one registry: a step's name lives on its class, and a new step is one
class plus one registry line (config validation and the plan pick it up)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import Field, ValidationError

from tasks.clean import CleanConfig, build_plan
from tasks.clean.base import Deduplicator, Filter, RowStep, StepParams
from tasks.clean.steps import STEPS


def test_every_registered_step_is_named_once_and_has_its_params():
    for name, step in STEPS.items():
        assert step.name == name
        assert issubclass(step, RowStep | Deduplicator)
        assert issubclass(step.params_class, StepParams) and step.params_class is not StepParams
        step.params_class()  # every parameter has a default


def test_unknown_steps_list_the_registry():
    with pytest.raises(ValidationError) as err:
        CleanConfig.model_validate(["normalize", "shout"])
    assert "unknown step 'shout'" in str(err.value)
    for name in STEPS:
        assert name in str(err.value)


class ShoutParams(StepParams):
    """Drop texts whose letters are mostly capitals."""

    max_upper_share: float = Field(default=0.5, ge=0.0, le=1.0)


class ShoutFilter(Filter):
    """A step written for this test only: reason `shouting`."""

    name = "shout"
    params_class = ShoutParams

    def __init__(self, params: ShoutParams) -> None:
        self.params = params

    def reasons(self, text: pa.ChunkedArray) -> pa.Array:
        upper = pc.count_substring_regex(text, r"\p{Lu}")
        letters = pc.max_element_wise(pc.count_substring_regex(text, r"\p{L}"), 1)
        share = pc.divide(pc.cast(upper, pa.float64()), pc.cast(letters, pa.float64()))
        return pc.if_else(pc.greater(share, self.params.max_upper_share), pa.scalar("shouting"), pa.scalar(None, pa.string()))


def test_a_new_step_is_one_class_plus_one_registry_line(monkeypatch):
    monkeypatch.setitem(STEPS, ShoutFilter.name, ShoutFilter)  # the one registry line
    cfg = CleanConfig.model_validate(["normalize", {"shout": {"max_upper_share": 0.6}}])
    assert cfg.steps()[1] == ("shout", ShoutParams(max_upper_share=0.6))
    with pytest.raises(ValidationError, match="0.shout.max_upper_share"):
        CleanConfig.model_validate([{"shout": {"max_upper_share": 2}}])
    table = pa.table({"id": ["a", "b", "c"], "text": ["A calm sentence here", "STOP SHOUTING AT ME", "Fine too"]})
    kept, quarantined, counters = build_plan(cfg, False).run([table])
    assert kept[0]["id"].to_pylist() == ["a", "c"]
    assert quarantined["reason"].to_pylist() == ["shouting"] and quarantined["step"].to_pylist() == ["shout"]
    assert counters.steps["shout"].dropped == {"shouting": 1}
