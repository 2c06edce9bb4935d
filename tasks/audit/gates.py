"""Audit gates: compare report figures with configured thresholds; warn, fail or ask to mitigate.

One check per gate metric, registered in `GATE_METRICS` (the YAML `metric:` of a gate); a new
corpus gate is one function `(gate, report, cfg) -> GateResult` plus one line there (and its name
in `tasks.audit.config.GateMetric`, which a test keeps equal to the registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from tasks.audit.config import AuditConfig, GateConfig

if TYPE_CHECKING:
    from tasks.audit.corpus_report import AuditReport


class GateResult(BaseModel):
    """Outcome of one gate; `axis`/`group` name the worst group when there is one."""

    name: str
    metric: str
    value: float
    threshold: float
    passed: bool
    action: str
    message: str
    axis: str | None = None
    group: str | None = None


class GateFailure(Exception):
    """Raised by `enforce_gates` when a gate with action `fail` did not pass."""


def _label_gap(gate: GateConfig, report: AuditReport, cfg: AuditConfig) -> GateResult:
    significant = [r for r in report.groups if r.gap is not None and r.gap_excludes_zero and r.docs >= cfg.min_group_docs]
    base = dict(name=gate.name, metric=gate.metric, threshold=gate.threshold, action=gate.action)
    if not significant:
        return GateResult(
            **base,
            value=0.0,
            passed=True,
            message=(f"gate {gate.name}: no label-rate gap with an interval excluding 0 (groups with >= {cfg.min_group_docs} docs)"),
        )
    worst = max(significant, key=lambda r: (abs(r.gap), r.label or ""))
    over = [r for r in significant if abs(r.gap) > gate.threshold]
    value = abs(worst.gap)
    passed = value <= gate.threshold
    message = (
        f"gate {gate.name} ({gate.metric}) {'passed' if passed else 'FAILED'}: group "
        f"{worst.axis}/{worst.group} ({worst.docs} docs) has label '{worst.label}' rate "
        f"{worst.label_rate:.3f} [{worst.ci_low:.3f}, {worst.ci_high:.3f}] vs {worst.rest_rate:.3f} "
        f"in the rest, gap {worst.gap:+.3f} [{worst.gap_ci_low:+.3f}, {worst.gap_ci_high:+.3f}]; "
        f"threshold {gate.threshold}"
    )
    if len(over) > 1:
        others = sorted({f"{r.axis}/{r.group}" for r in over} - {f"{worst.axis}/{worst.group}"})
        if others:
            message += f"; also over the threshold: {', '.join(others)}"
    return GateResult(**base, value=value, passed=passed, message=message, axis=worst.axis, group=worst.group)


def _min_docs(gate: GateConfig, report: AuditReport, cfg: AuditConfig) -> GateResult:
    base = dict(name=gate.name, metric=gate.metric, threshold=gate.threshold, action=gate.action)
    present = {(r.axis, r.group): r.docs for r in report.groups}
    if not present:
        return GateResult(**base, value=0.0, passed=True, message=f"gate {gate.name}: no group present")
    (axis, group), docs = min(present.items(), key=lambda kv: kv[1])
    passed = docs >= gate.threshold
    message = f"gate {gate.name} ({gate.metric}) {'passed' if passed else 'FAILED'}: smallest group {axis}/{group} has {docs} docs; threshold {gate.threshold}"
    return GateResult(**base, value=float(docs), passed=passed, message=message, axis=axis, group=group)


def _filter_impact(gate: GateConfig, report: AuditReport, cfg: AuditConfig) -> GateResult:
    base = dict(name=gate.name, metric=gate.metric, threshold=gate.threshold, action=gate.action)
    rows = [r for r in report.filter_impact if r.group_docs >= cfg.min_group_docs and r.overall_removed_rate > 0]
    if not rows:
        return GateResult(**base, value=0.0, passed=True, message=f"gate {gate.name}: no filter removed documents of a large enough group")
    worst = max(rows, key=lambda r: r.ratio)
    passed = worst.ratio <= gate.threshold
    message = (
        f"gate {gate.name} ({gate.metric}) {'passed' if passed else 'FAILED'}: step '{worst.step}' "
        f"removed {worst.removed_rate:.3f} of group {worst.axis}/{worst.group} ({worst.removed}/"
        f"{worst.group_docs} docs) vs {worst.overall_removed_rate:.3f} overall, ratio {worst.ratio:.2f}; "
        f"threshold {gate.threshold}"
    )
    return GateResult(**base, value=worst.ratio, passed=passed, message=message, axis=worst.axis, group=worst.group)


GATE_METRICS: dict[str, Callable[[GateConfig, AuditReport, AuditConfig], GateResult]] = {
    "max_label_rate_gap": _label_gap,
    "min_group_docs": _min_docs,
    "max_filter_impact_ratio": _filter_impact,
}


def evaluate_gates(report: AuditReport, cfg: AuditConfig) -> list[GateResult]:
    """Evaluate every gate of `cfg.gates` on a report; one `GateResult` per gate, in order."""
    return [GATE_METRICS[gate.metric](gate, report, cfg) for gate in cfg.gates]


def enforce_gates(results: list[GateResult]) -> None:
    """Raise `GateFailure` (message: every failed `fail` gate's message) if any such gate tripped."""
    failed = [r.message for r in results if r.action == "fail" and not r.passed]
    if failed:
        raise GateFailure("; ".join(failed))


def needs_mitigation(results: list[GateResult], cfg: AuditConfig) -> bool:
    """True when `cfg.mitigation` is set and a `mitigate` gate tripped or `mitigate_always` is on."""
    if cfg.mitigation == "none":
        return False
    return cfg.mitigate_always or any(r.action == "mitigate" and not r.passed for r in results)
