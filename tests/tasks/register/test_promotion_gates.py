"""Promotion gates come from one registry (`tasks/register/gates.py`): a new gate is one function
plus one line, and the alias decision honours it, against a real MLflow store."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from tasks.evaluate.config import EvaluateConfig
from tasks.register.aliases import decide_and_set_alias
from tasks.register.config import RegisterConfig
from tasks.register.gates import PROMOTION_GATES, GateInput, GateVerdict, promotion_verdicts
from tests.tasks.register.test_aliases import new_version

CFG = EvaluateConfig(metric="accuracy")


def max_ece(inp: GateInput) -> GateVerdict:
    """A gate written for this test: calibration error at most 0.1."""
    ece = inp.metrics.get("ece", 1.0)
    return GateVerdict(name="max_ece", passed=ece <= 0.1, reason=f"ece {ece:.2f} above 0.1")


def test_the_registry_holds_the_model_gate_and_the_baseline_gate():
    inp = GateInput({"accuracy": 0.8}, False, "subgroup AUC gap 0.2", CFG, RegisterConfig(require_fairness_gates=False))
    verdicts = {v.name: v for v in promotion_verdicts(inp)}
    assert list(verdicts) == list(PROMOTION_GATES) == ["fairness", "min_gain_over_baseline"]
    assert not verdicts["fairness"].passed and not verdicts["fairness"].blocks  # not required
    assert verdicts["min_gain_over_baseline"].passed  # no threshold, no gate


def test_a_new_gate_is_one_registry_line(client: MlflowClient, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(PROMOTION_GATES, "max_ece", max_ece)
    name, log = "gate-registry-0", tmp_path / "aliases.jsonl"
    metrics = {"accuracy": 0.9, "ece": 0.3}
    blocked = decide_and_set_alias(client, name, new_version(client, name, metrics), metrics, True, "fair", CFG, RegisterConfig(), log)
    assert not blocked.promoted and blocked.alias == "challenger" and "ece 0.30 above 0.1" in blocked.reason
    metrics = {"accuracy": 0.9, "ece": 0.05}
    passed = decide_and_set_alias(client, name, new_version(client, name, metrics), metrics, True, "fair", CFG, RegisterConfig(), log)
    assert passed.promoted and passed.alias == "champion"
