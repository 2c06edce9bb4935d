"""The corpus audit report: group label rates with intervals, filter impact, nPMI and gates."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import AuditCounts, FilterCounts
from tasks.audit.gates import GateResult, evaluate_gates
from tasks.audit.lexicon import Lexicon, load_lexicon, split_key
from tasks.audit.npmi import NpmiRecord, npmi_records
from tasks.audit.stats import newcombe_diff, wilson


class GroupRecord(BaseModel):
    """Label rate of one label in one group, with a Wilson interval and the gap to the rest.

    `gap` = rate in the group - rate in the labelled rest of the corpus, with Newcombe's interval.
    `label` and the rate fields are None when the corpus has no labels. For a weighted count
    (after reweighting) `labelled_docs` is a sum of weights and the intervals treat it as a count.
    """

    axis: str
    group: str
    docs: int
    share: float
    label: str | None = None
    labelled_docs: int | float = 0
    label_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rest_rate: float | None = None
    gap: float | None = None
    gap_ci_low: float | None = None
    gap_ci_high: float | None = None
    gap_excludes_zero: bool = False


class FilterImpactRecord(BaseModel):
    """Share of a group's documents one cleaning step removed vs the step's overall removal rate."""

    step: str
    axis: str
    group: str
    removed: int
    group_docs: int
    removed_rate: float
    overall_removed_rate: float
    ratio: float


class AuditReport(BaseModel):
    """Everything `report.json` holds; headline fields first."""

    total_docs: int
    labelled_docs: int | float
    label_docs: dict[str, int | float]
    confidence: float
    groups_present: int
    groups_absent: list[str] = Field(default_factory=list)
    flagged: list[str] = Field(default_factory=list)
    gates_failed: list[str] = Field(default_factory=list)
    vocab_truncated: bool = False
    groups: list[GroupRecord] = Field(default_factory=list)
    filter_impact: list[FilterImpactRecord] = Field(default_factory=list)
    npmi: list[NpmiRecord] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)


def _r(x: float) -> float:
    return round(x, 4)


def group_records(counts: AuditCounts, cfg: AuditConfig) -> list[GroupRecord]:
    """One record per present group and label (one label-less record when nothing is labelled)."""
    records = []
    n, labelled = counts.total_docs, counts.labelled_docs
    for key in sorted(counts.group_docs):
        docs = counts.group_docs[key]
        if docs == 0:
            continue
        axis, group = split_key(key)
        share = _r(docs / n) if n else 0.0
        by_label = counts.group_label_docs.get(key, {})
        g_lab = sum(by_label.values())
        if not counts.label_docs or g_lab == 0:
            records.append(GroupRecord(axis=axis, group=group, docs=docs, share=share))
            continue
        for label in sorted(counts.label_docs):
            x1 = by_label.get(label, 0)
            x2, n2 = counts.label_docs[label] - x1, labelled - g_lab
            lo, hi = wilson(x1, g_lab, cfg.confidence)
            rec = GroupRecord(
                axis=axis, group=group, docs=docs, share=share, label=label, labelled_docs=g_lab, label_rate=_r(x1 / g_lab), ci_low=_r(lo), ci_high=_r(hi)
            )
            if n2 > 0:
                gap, glo, ghi = newcombe_diff(x1, g_lab, x2, n2, cfg.confidence)
                rec.rest_rate, rec.gap = _r(x2 / n2), _r(gap)
                rec.gap_ci_low, rec.gap_ci_high = _r(glo), _r(ghi)
                rec.gap_excludes_zero = glo > 0 or ghi < 0
            records.append(rec)
    return records


def filter_impact_records(counts: AuditCounts, filters: FilterCounts) -> list[FilterImpactRecord]:
    """Per step and group: removed / (group docs kept + quarantined) vs removed / all docs."""
    total = counts.total_docs + filters.total_docs
    out = []
    for step in sorted(filters.step_docs):
        overall = filters.step_docs[step] / total if total else 0.0
        for key in sorted(set(counts.group_docs) | set(filters.group_docs)):
            group_total = counts.group_docs.get(key, 0) + filters.group_docs.get(key, 0)
            if group_total == 0:
                continue
            removed = filters.step_group_docs.get(step, {}).get(key, 0)
            rate = removed / group_total
            axis, group = split_key(key)
            out.append(
                FilterImpactRecord(
                    step=step,
                    axis=axis,
                    group=group,
                    removed=removed,
                    group_docs=group_total,
                    removed_rate=_r(rate),
                    overall_removed_rate=_r(overall),
                    ratio=_r(rate / overall) if overall > 0 else 0.0,
                )
            )
    return out


def build_report(counts: AuditCounts, filters: FilterCounts | None, cfg: AuditConfig, lexicon: Lexicon | None = None) -> AuditReport:
    """Turn merged counts (and optional quarantine counts) into an `AuditReport` with gate results."""
    lexicon = lexicon or load_lexicon(cfg)
    report = AuditReport(
        total_docs=counts.total_docs,
        labelled_docs=counts.labelled_docs,
        label_docs=counts.label_docs,
        confidence=cfg.confidence,
        vocab_truncated=counts.vocab_truncated,
        groups_present=sum(1 for v in counts.group_docs.values() if v > 0),
        groups_absent=sorted(k for k, v in counts.group_docs.items() if v == 0),
        groups=group_records(counts, cfg),
        filter_impact=filter_impact_records(counts, filters) if filters else [],
        npmi=npmi_records(counts, cfg, lexicon),
    )
    report.gates = evaluate_gates(report, cfg)
    report.gates_failed = [g.name for g in report.gates if not g.passed]
    report.flagged = [g.message for g in report.gates if not g.passed]
    return report
