"""Plain types of the evaluate stage, with no Prefect import: the job one evaluation is given and
the typed outcome the register stage reads back (`report.json`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tasks.audit.config import AuditConfig
from tasks.common.dataset import DatasetHandle
from tasks.evaluate.config import EvaluateConfig
from tasks.train.record import ModelJob

REPORT_NAME = "report.json"


class EvalJob(ModelJob):
    """Everything one evaluation needs, by value or by path."""

    out_uri: str
    evaluate: EvaluateConfig
    audit: AuditConfig
    alias_champion: str = "champion"


class EvalOutcome(BaseModel):
    """The evaluation's verdict inputs for the register stage: test metrics, the promotion metric
    and its direction, the champion it was compared with, the model gate (fairness audit, probe,
    exposure or selection check, as the kind has), and the reports behind them."""

    cache_key: str
    run_id: str
    metrics: dict[str, float]
    metric: str
    higher_is_better: bool
    champion_version: str | None = None
    champion_metrics: dict[str, float] | None = None
    fairness_passed: bool = True
    fairness_reason: str = ""
    model_audit: dict[str, Any] | None = None
    probe: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None  # name, params, its own test metrics (see tasks/evaluate/baselines.py)


def read_outcome(evaluate_uri: str) -> EvalOutcome:
    """The evaluate stage's folder of one model -> its `EvalOutcome` (from `report.json`); a
    missing report raises FileNotFoundError naming it."""
    handle = DatasetHandle(evaluate_uri)
    path = handle.join(REPORT_NAME)
    if not handle.fs.exists(path):
        raise FileNotFoundError(f"no evaluation report {path}: run the evaluate stage first")
    with handle.fs.open(path, "r", encoding="utf-8") as f:
        return EvalOutcome.model_validate_json(f.read())
