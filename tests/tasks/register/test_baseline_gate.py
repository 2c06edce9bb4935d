"""The optional promotion gate `evaluate.min_gain_over_baseline`, against a real MLflow store."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from tasks.evaluate.config import EvaluateConfig
from tasks.register.aliases import alias_version, decide_and_set_alias, read_alias_log
from tasks.register.config import RegisterConfig
from tests.tasks.register.test_aliases import new_version


def _metrics(accuracy: float, baseline: float) -> dict[str, float]:
    return {"accuracy": accuracy, "baseline_accuracy": baseline, "gain_over_baseline_accuracy": accuracy - baseline}


def test_gain_below_the_threshold_blocks_promotion(client: MlflowClient, tmp_path: Path) -> None:
    name, log = "baseline-gate-0", tmp_path / "aliases.jsonl"
    cfg = EvaluateConfig(metric="accuracy", min_gain_over_baseline=0.02)
    v1 = new_version(client, name, _metrics(0.81, 0.80))
    blocked = decide_and_set_alias(client, name, v1, _metrics(0.81, 0.80), True, "fair", cfg, RegisterConfig(), log)
    assert blocked.alias == "challenger" and not blocked.promoted
    assert "below min_gain_over_baseline 0.02" in blocked.reason
    assert alias_version(client, name, "champion") is None
    assert "below min_gain_over_baseline" in read_alias_log(log)[-1].reason

    v2 = new_version(client, name, _metrics(0.84, 0.80))
    passed = decide_and_set_alias(client, name, v2, _metrics(0.84, 0.80), True, "fair", cfg, RegisterConfig(), log)
    assert passed.alias == "champion" and passed.promoted


def test_no_threshold_no_gate(client: MlflowClient, tmp_path: Path) -> None:
    name = "baseline-gate-1"
    v1 = new_version(client, name, _metrics(0.70, 0.80))
    decision = decide_and_set_alias(
        client, name, v1, _metrics(0.70, 0.80), True, "fair", EvaluateConfig(metric="accuracy"), RegisterConfig(), tmp_path / "log.jsonl"
    )
    assert decision.promoted
