"""Champion/challenger aliases: the promotion decision, and a history of every alias move.

MLflow keeps only the current target of an alias (mlflow#2169 asks for its history). Each move
is therefore appended to a JSON-lines file (rewritten atomically: temp file + rename) and to the
registered model's numbered tags `alias_event.<n>` (one JSON record each).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from tasks.common import storage

from tasks.evaluate.compare import Comparison, compare_with_champion
from tasks.evaluate.config import EvaluateConfig
from tasks.register.config import RegisterConfig
from tasks.register.gates import GateInput, promotion_verdicts

EVENT_TAG_PREFIX = "alias_event."
METRIC_TAG_PREFIX = "metric."
_log = logging.getLogger(__name__)


class AliasEvent(BaseModel):
    """One alias move, as written to the log file and the registered model's tags."""

    time: str
    model: str
    alias: str
    from_version: str | None
    to_version: str
    metric: str
    candidate_value: float | None
    champion_value: float | None
    fairness_passed: bool
    reason: str


class AliasDecision(BaseModel):
    """What `decide_and_set_alias` did to `version`: the alias it got, why, and the moves logged."""

    model: str
    version: str
    alias: str
    promoted: bool
    previous_champion: str | None
    comparison: Comparison
    fairness_passed: bool
    reason: str
    events: list[AliasEvent]
    fairness_reason: str = ""

    def to_markdown(self) -> str:
        """A short Markdown summary (for a Prefect artifact or a run summary)."""
        verdict = "passed" if self.fairness_passed else "FAILED"
        lines = [
            f"### {self.model} v{self.version} -> `{self.alias}`",
            "",
            self.reason,
            "",
            f"Fairness verdict (model audit): {verdict}: {self.fairness_reason or '-'}",
            "",
            "| time | alias | from | to | metric | candidate | champion |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {e.time} | {e.alias} | {e.from_version or '-'} | {e.to_version} | {e.metric} | {_fmt(e.candidate_value)} | {_fmt(e.champion_value)} |"
            for e in self.events
        ]
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version an alias points to, or None when the alias (or the model) does not exist."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def version_metrics(client: MlflowClient, name: str, version: str) -> dict[str, float]:
    """Metrics of a version: those of its run, overlaid with `metric.<name>` tags set at promotion."""
    mv = client.get_model_version(name, version)
    metrics: dict[str, float] = {}
    if mv.run_id:
        metrics.update(client.get_run(mv.run_id).data.metrics)
    for key, value in (mv.tags or {}).items():
        if key.startswith(METRIC_TAG_PREFIX):
            metrics.setdefault(key[len(METRIC_TAG_PREFIX) :], float(value))
    return metrics


def champion_metrics(client: MlflowClient, name: str, metric: str, alias: str = "champion") -> dict[str, float] | None:
    """All metrics of the version behind `alias` (from its run and its `metric.*` tags); None when
    there is no such alias. `metric` is the promotion metric: a missing one is logged as a warning
    (`compare_with_champion` then lets the candidate win, saying why)."""
    current = alias_version(client, name, alias)
    if current is None:
        return None
    metrics = version_metrics(client, name, current)
    if metric not in metrics:
        _log.warning("champion %s v%s has no metric %r (has %s)", name, current, metric, sorted(metrics))
    return metrics


def load_champion(name: str, alias: str = "champion") -> Any | None:
    """`mlflow.pyfunc.load_model("models:/<name>@<alias>")`, or None when no such alias exists
    (to score the same test split with the champion and the candidate)."""
    if alias_version(MlflowClient(), name, alias) is None:
        return None
    return mlflow.pyfunc.load_model(f"models:/{name}@{alias}")


def decide_and_set_alias(
    client: MlflowClient,
    name: str,
    version: str,
    candidate_metrics: dict[str, float],
    fairness_passed: bool,
    fairness_reason: str,
    cfg: EvaluateConfig,
    reg: RegisterConfig,
    log_path: Path,
    champion_on_split: dict[str, float] | None = None,
) -> AliasDecision:
    """Give `version` the champion alias when it beats the current champion on `cfg.metric` (by
    `cfg.min_improvement`) and passes the fairness gates (when `reg.require_fairness_gates`);
    otherwise the challenger alias. The first version needs only the fairness gates. With
    `cfg.min_gain_over_baseline` set, it must also beat the evaluate stage's baseline on `cfg.metric`
    by that much (`gain_over_baseline_<metric>` of `candidate_metrics`).
    The champion's figures are `champion_on_split` when given (the champion re-scored on the
    candidate's test split, the fair comparison), else the metrics stored with its version.

    Every alias set is appended to `log_path` (JSON lines) and to the tags `alias_event.<n>` of the
    registered model; the candidate's metrics are kept as `metric.<name>` version tags.
    (`decide_alias` then `set_alias` + `record_alias_event`: the steps a resumed registration redoes.)
    """
    decision = decide_alias(client, name, version, candidate_metrics, fairness_passed, fairness_reason, cfg, reg, champion_on_split)
    set_alias(client, decision, candidate_metrics)
    record_alias_event(client, decision.events[0], log_path)
    return decision


def decide_alias(
    client: MlflowClient,
    name: str,
    version: str,
    candidate_metrics: dict[str, float],
    fairness_passed: bool,
    fairness_reason: str,
    cfg: EvaluateConfig,
    reg: RegisterConfig,
    champion_on_split: dict[str, float] | None = None,
) -> AliasDecision:
    """The decision of `decide_and_set_alias` (which alias `version` gets, why, and the event to
    log), without changing anything in the registry."""
    version = str(version)
    previous = alias_version(client, name, reg.alias_champion)
    champion = None
    if previous is not None:
        champion = champion_on_split if champion_on_split is not None else champion_metrics(client, name, cfg.metric, reg.alias_champion)
    if previous == version:  # re-deciding the champion itself: compare with nothing
        champion = None
    comparison = compare_with_champion(candidate_metrics, champion, cfg)
    verdicts = promotion_verdicts(GateInput(candidate_metrics, fairness_passed, fairness_reason, cfg, reg))
    promoted = comparison.better and not any(v.blocks for v in verdicts)
    if promoted:
        alias = reg.alias_champion
        reason = "; ".join([f"promoted: {comparison.reason}", *(v.waived for v in verdicts if not v.passed)])
    else:
        alias = reg.alias_challenger
        reasons = [] if comparison.better else [comparison.reason]
        reasons += [v.reason for v in verdicts if v.blocks]
        reason = "not promoted: " + "; ".join(reasons)
    from_version = previous if promoted else alias_version(client, name, alias)
    event = AliasEvent(
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        model=name,
        alias=alias,
        from_version=from_version,
        to_version=version,
        metric=cfg.metric,
        candidate_value=comparison.candidate_value,
        champion_value=comparison.champion_value,
        fairness_passed=fairness_passed,
        reason=reason,
    )
    return AliasDecision(
        model=name,
        version=version,
        alias=alias,
        promoted=promoted,
        previous_champion=previous,
        comparison=comparison,
        fairness_passed=fairness_passed,
        reason=reason,
        events=[event],
        fairness_reason=fairness_reason,
    )


def set_alias(client: MlflowClient, decision: AliasDecision, candidate_metrics: dict[str, float]) -> None:
    """Apply a decision to the registry: the candidate's `metric.<name>` version tags, then the alias
    (both idempotent: setting them again changes nothing)."""
    for key, value in candidate_metrics.items():
        client.set_model_version_tag(decision.model, decision.version, f"{METRIC_TAG_PREFIX}{key}", str(value))
    client.set_registered_model_alias(decision.model, decision.alias, decision.version)


def record_alias_event(client: MlflowClient, event: AliasEvent, log_path: Path) -> None:
    """Append `event` to the alias log file and to the registered model's `alias_event.<n>` tags,
    each only when it is not there yet (so a registration resumed after a crash logs it once)."""
    if event not in read_alias_log(log_path):
        append_alias_log(log_path, event)
    if event not in alias_history(client, event.model):
        _append_tag_event(client, event.model, event)


def append_alias_log(log_path: Path, event: AliasEvent) -> None:
    """Append one JSON line to `log_path`: the old content plus the line go to a temp file that
    replaces the log in one rename, so a reader never sees a half-written file."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    old = log_path.read_bytes() if log_path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    storage.write_bytes(str(log_path), old + event.model_dump_json().encode("utf-8") + b"\n")


def read_alias_log(log_path: Path) -> list[AliasEvent]:
    """Every event of a JSON-lines alias log, oldest first (empty when the file does not exist)."""
    log_path = Path(log_path)
    if not log_path.exists():
        return []
    return [AliasEvent.model_validate_json(line) for line in log_path.read_text("utf-8").splitlines() if line.strip()]


def alias_history(client: MlflowClient, name: str) -> list[AliasEvent]:
    """The alias events kept in the registered model's `alias_event.<n>` tags, oldest first."""
    tags = client.get_registered_model(name).tags or {}
    numbered = sorted((int(key[len(EVENT_TAG_PREFIX) :]), value) for key, value in tags.items() if key.startswith(EVENT_TAG_PREFIX))
    return [AliasEvent.model_validate(json.loads(value)) for _, value in numbered]


def _append_tag_event(client: MlflowClient, name: str, event: AliasEvent) -> None:
    tags = client.get_registered_model(name).tags or {}
    n = 1 + max((int(k[len(EVENT_TAG_PREFIX) :]) for k in tags if k.startswith(EVENT_TAG_PREFIX)), default=0)
    client.set_registered_model_tag(name, f"{EVENT_TAG_PREFIX}{n:04d}", event.model_dump_json())
