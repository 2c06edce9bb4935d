"""Champion/challenger decisions against a real MLflow store (SQLite in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tasks.evaluate.config import EvaluateConfig
from tasks.register.aliases import alias_history, alias_version, champion_metrics, decide_and_set_alias, load_champion, read_alias_log
from tasks.register.config import RegisterConfig

CFG = EvaluateConfig(metric="macro_f1", min_improvement=0.01)
REG = RegisterConfig()


def new_version(client: MlflowClient, name: str, metrics: dict[str, float]) -> str:
    """A version whose run logged `metrics` (the alias logic reads only run metrics and tags)."""
    with mlflow.start_run() as run:
        mlflow.log_metrics(metrics)
    if not client.search_registered_models(filter_string=f"name='{name}'"):
        client.create_registered_model(name)
    mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return str(mv.version)


def decide(client: MlflowClient, name: str, version: str, f1: float, log: Path, fair: bool = True, why: str = "all gates passed"):
    return decide_and_set_alias(client, name, version, {"macro_f1": f1, "accuracy": f1}, fair, why, CFG, REG, log)


def test_first_version_becomes_champion(client: MlflowClient, tmp_path: Path) -> None:
    name = "model-0"
    log = tmp_path / "aliases.jsonl"
    v1 = new_version(client, name, {"macro_f1": 0.70})
    decision = decide(client, name, v1, 0.70, log)
    assert decision.alias == "champion" and decision.promoted and decision.previous_champion is None
    assert alias_version(client, name, "champion") == v1
    [event] = read_alias_log(log)
    assert (event.alias, event.from_version, event.to_version, event.reason) == ("champion", None, v1, decision.reason)
    assert "no champion yet" in event.reason
    assert champion_metrics(client, name, "macro_f1") == {"macro_f1": 0.70, "accuracy": 0.70}


def test_first_version_failing_fairness_is_challenger(client: MlflowClient, tmp_path: Path) -> None:
    name = "model-1"
    v1 = new_version(client, name, {"macro_f1": 0.9})
    decision = decide(client, name, v1, 0.9, tmp_path / "log.jsonl", fair=False, why="gender gap 0.3 > 0.1")
    assert decision.alias == "challenger" and not decision.promoted
    assert "gender gap 0.3 > 0.1" in decision.reason
    assert alias_version(client, name, "champion") is None
    assert load_champion(name) is None


def test_worse_then_unfair_then_better_and_fair(client: MlflowClient, tmp_path: Path) -> None:
    name = "model-2"
    log = tmp_path / "aliases" / "log.jsonl"
    v1 = new_version(client, name, {"macro_f1": 0.80})
    assert decide(client, name, v1, 0.80, log).alias == "champion"

    v2 = new_version(client, name, {"macro_f1": 0.805})  # better, but by less than min_improvement 0.01
    worse = decide(client, name, v2, 0.805, log)
    assert worse.alias == "challenger" and worse.comparison.champion_value == 0.80
    assert "does not beat" in worse.reason

    v3 = new_version(client, name, {"macro_f1": 0.90})
    unfair = decide(client, name, v3, 0.90, log, fair=False, why="counterfactual gap 0.4 > 0.1 (gender)")
    assert unfair.alias == "challenger" and unfair.comparison.better
    assert "fairness gates failed: counterfactual gap 0.4 > 0.1 (gender)" in unfair.reason
    assert alias_version(client, name, "champion") == v1

    v4 = new_version(client, name, {"macro_f1": 0.85})
    win = decide(client, name, v4, 0.85, log)
    assert win.alias == "champion" and win.previous_champion == v1
    assert alias_version(client, name, "champion") == v4
    assert alias_version(client, name, "challenger") == v3

    events = read_alias_log(log)
    champion_moves = [(e.from_version, e.to_version) for e in events if e.alias == "champion"]
    assert champion_moves == [(None, v1), (v1, v4)]
    assert [(e.from_version, e.to_version) for e in events if e.alias == "challenger"] == [(None, v2), (v2, v3)]
    assert events[-1].candidate_value == 0.85 and events[-1].champion_value == 0.80
    assert all(e.time.endswith("+00:00") and e.metric == "macro_f1" for e in events)
    # the same history is on the registered model, as numbered tags in order
    assert [e.model_dump() for e in alias_history(client, name)] == [e.model_dump() for e in events]
    tags = client.get_registered_model(name).tags
    assert json.loads(tags["alias_event.0004"])["to_version"] == v4
    assert client.get_model_version(name, v4).tags["metric.macro_f1"] == "0.85"
    markdown = win.to_markdown()
    assert markdown.startswith(f"### {name} v{v4} -> `champion`")
    assert f"| champion | {v1} | {v4} | macro_f1 | 0.8500 | 0.8000 |" in markdown


def test_champion_rescored_on_the_same_split_wins_over_stored_metrics(client: MlflowClient, tmp_path: Path) -> None:
    name = "model-rescored"
    log = tmp_path / "log.jsonl"
    v1 = new_version(client, name, {"macro_f1": 0.80})
    decide(client, name, v1, 0.80, log)
    v2 = new_version(client, name, {"macro_f1": 0.75})
    assert decide(client, name, v2, 0.75, log).alias == "challenger"  # against the stored 0.80
    v3 = new_version(client, name, {"macro_f1": 0.75})
    decision = decide_and_set_alias(client, name, v3, {"macro_f1": 0.75}, True, "ok", CFG, REG, log, champion_on_split={"macro_f1": 0.70})
    assert decision.alias == "champion" and decision.comparison.champion_value == 0.70


def test_fairness_not_required(client: MlflowClient, tmp_path: Path) -> None:
    name = "model-3"
    v1 = new_version(client, name, {"macro_f1": 0.5})
    decision = decide_and_set_alias(client, name, v1, {"macro_f1": 0.5}, False, "gap", CFG, RegisterConfig(require_fairness_gates=False), tmp_path / "l.jsonl")
    assert decision.alias == "champion" and "not required" in decision.reason


def test_register_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="alias_champoin"):
        RegisterConfig.model_validate({"alias_champoin": "best"})
