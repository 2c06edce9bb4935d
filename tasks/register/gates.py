"""The registry of promotion gates: besides beating the champion on the promotion metric, a new
version becomes `champion` only when every required gate passes.

Each gate is one function `GateInput -> GateVerdict` plus one line in `PROMOTION_GATES`. The
kind's own model gate (the classifier's fairness audit and counterfactual probe, the recommender's
exposure limits, the summarizer's selection check) is decided by the kind's evaluator at the
evaluate stage and arrives here as `fairness_passed`/`fairness_reason`; the corpus gates are the
audit stage's (`tasks/audit/gates.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from tasks.evaluate.baselines import gain_gate
from tasks.evaluate.config import EvaluateConfig
from tasks.register.config import RegisterConfig


@dataclass(frozen=True)
class GateInput:
    """What a promotion gate sees: the candidate's test metrics, the evaluation's model-gate verdict
    and reason, the evaluate config (its `metric` resolved for the model) and the register config."""

    metrics: dict[str, float]
    fairness_passed: bool
    fairness_reason: str
    evaluate: EvaluateConfig
    registry: RegisterConfig


class GateVerdict(BaseModel):
    """One gate's verdict: whether it passed, the sentence said when it blocks promotion
    (`reason`), whether a failure blocks (`required`), and the sentence said when it failed
    without blocking (`waived`)."""

    name: str
    passed: bool
    reason: str = ""
    required: bool = True
    waived: str = ""

    @property
    def blocks(self) -> bool:
        """True when this verdict keeps the candidate from `champion`."""
        return self.required and not self.passed


def model_gate(inp: GateInput) -> GateVerdict:
    """The kind's model gate from the evaluate stage; required unless `register.require_fairness_gates` is false."""
    return GateVerdict(
        name="fairness",
        passed=inp.fairness_passed,
        required=inp.registry.require_fairness_gates,
        reason=f"fairness gates failed: {inp.fairness_reason}",
        waived=f"fairness gates failed but are not required ({inp.fairness_reason})",
    )


def baseline_gate(inp: GateInput) -> GateVerdict:
    """`evaluate.min_gain_over_baseline`: the gain over the evaluate stage's baseline on the metric."""
    passed, reason = gain_gate(inp.metrics, inp.evaluate.metric, inp.evaluate.min_gain_over_baseline)
    return GateVerdict(name="min_gain_over_baseline", passed=passed, reason=reason)


PROMOTION_GATES: dict[str, Callable[[GateInput], GateVerdict]] = {"fairness": model_gate, "min_gain_over_baseline": baseline_gate}


def promotion_verdicts(inp: GateInput) -> list[GateVerdict]:
    """Every registered promotion gate's verdict on one candidate, in registry order."""
    return [gate(inp) for gate in PROMOTION_GATES.values()]
