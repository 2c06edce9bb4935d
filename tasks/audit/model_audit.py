"""Model audit: per-group metrics with bootstrap intervals (incl. the Jigsaw AUCs), a
counterfactual template probe, and the promotion gate of the register stage.

Binary tasks: `y_score` is the probability of the positive class (`cfg.model.positive_label`, or
the larger of the two labels). Multiclass: accuracy and macro-F1 per group; the AUC metrics are
one-vs-rest for `positive_label` (then `y_score` must be that class's probability) and are left
out when no positive label is configured.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy.stats import rankdata
from sklearn.metrics import f1_score

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import Lexicon, load_lexicon
from tasks.audit.probe_gate import gap_interval, verdict

AUC_METRICS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")


class GroupMetric(BaseModel):
    """One metric for one group (axis `overall` for the whole test set), with a bootstrap interval."""

    axis: str
    group: str
    n: int
    metric: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None


class ModelAuditReport(BaseModel):
    """Per-group metrics and the headline gap used by the promotion gate."""

    n: int
    positive_label: str | None
    binary: bool
    bootstrap: int
    records: list[GroupMetric] = Field(default_factory=list)
    skipped_groups: list[str] = Field(default_factory=list)
    overall_auc: float | None = None
    max_subgroup_auc_gap: float | None = None  # overall AUC - worst subgroup/BPSN/BNSP AUC
    worst: str | None = None


def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """ROC-AUC by the Mann-Whitney rank statistic; None when only one class is present."""
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return None
    ranks = rankdata(s)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _metrics(yt: np.ndarray, yp: np.ndarray, positive: str | None, s: np.ndarray | None, g: np.ndarray, binary: bool) -> dict[str, float | None]:
    pos = yt == positive if positive is not None else None
    out: dict[str, float | None] = {"accuracy": float(np.mean(yt[g] == yp[g])) if g.any() else None}
    if binary and pos is not None:
        pred_pos = yp == positive
        tp = float(np.sum(g & pos & pred_pos))
        fp = float(np.sum(g & ~pos & pred_pos))
        fn = float(np.sum(g & pos & ~pred_pos))
        out["f1"] = tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else None
    else:
        out["f1"] = float(f1_score(yt[g], yp[g], average="macro")) if g.any() else None
    if pos is not None and s is not None:
        out["subgroup_auc"] = auc(pos[g], s[g])
        bpsn = (g & ~pos) | (~g & pos)
        bnsp = (g & pos) | (~g & ~pos)
        out["bpsn_auc"] = auc(pos[bpsn], s[bpsn])
        out["bnsp_auc"] = auc(pos[bnsp], s[bnsp])
    return out


def model_audit(frame: pd.DataFrame, groups: pd.DataFrame, cfg: AuditConfig) -> ModelAuditReport:
    """Per-group accuracy, F1, subgroup AUC (= ROC-AUC within the group), BPSN and BNSP AUC.

    In: `frame` with `id, y_true, y_pred, y_score`; `groups` with `id, axis, group` (one row per
    membership, e.g. from `lexicon.memberships`). Groups under `cfg.model.min_group_size` rows are
    skipped. Intervals: percentile bootstrap over test rows (`cfg.model.bootstrap` resamples).
    """
    mc = cfg.model
    yt = frame["y_true"].astype(str).to_numpy()
    yp = frame["y_pred"].astype(str).to_numpy()
    labels = sorted(set(yt) | set(yp))
    binary = len(set(yt)) <= 2 and len(labels) <= 2
    positive = mc.positive_label if mc.positive_label is not None else (labels[-1] if binary else None)
    s = frame["y_score"].to_numpy(dtype=float) if "y_score" in frame and positive is not None else None
    index = pd.Index(frame["id"].astype(str))
    masks: dict[tuple[str, str], np.ndarray] = {("overall", "all"): np.ones(len(frame), dtype=bool)}
    report = ModelAuditReport(n=len(frame), positive_label=positive, binary=binary, bootstrap=mc.bootstrap)
    for (axis, group), members in groups.groupby(["axis", "group"], sort=True):
        mask = np.zeros(len(frame), dtype=bool)
        rows = index.get_indexer(members["id"].astype(str))
        mask[rows[rows >= 0]] = True
        if mask.sum() < mc.min_group_size:
            report.skipped_groups.append(f"{axis}/{group}")
        else:
            masks[(str(axis), str(group))] = mask
    point = {k: _metrics(yt, yp, positive, s, m, binary) for k, m in masks.items()}
    rng = np.random.default_rng(mc.seed)
    boots: dict[tuple[str, str], dict[str, list[float]]] = {k: {} for k in masks}
    for _ in range(mc.bootstrap):
        r = rng.integers(0, len(frame), len(frame))
        for k, m in masks.items():
            vals = _metrics(yt[r], yp[r], positive, s[r] if s is not None else None, m[r], binary)
            for name, v in vals.items():
                if v is not None:
                    boots[k].setdefault(name, []).append(v)
    alpha = (1 - cfg.confidence) / 2
    for k, vals in point.items():
        for name, v in vals.items():
            if k[0] == "overall" and name in ("bpsn_auc", "bnsp_auc"):
                continue  # no background: undefined for the whole set
            dist = boots[k].get(name, [])
            lo, hi = (float(np.quantile(dist, alpha)), float(np.quantile(dist, 1 - alpha))) if dist else (None, None)
            report.records.append(GroupMetric(axis=k[0], group=k[1], n=int(masks[k].sum()), metric=name, value=v, ci_low=lo, ci_high=hi))
    report.overall_auc = point[("overall", "all")].get("subgroup_auc")
    if report.overall_auc is not None:
        gaps = [
            (report.overall_auc - v, f"{k[0]}/{k[1]} {name}")
            for k, vals in point.items()
            if k[0] != "overall"
            for name, v in vals.items()
            if name in AUC_METRICS and v is not None
        ]
        if gaps:
            gap, report.worst = max(gaps)
            report.max_subgroup_auc_gap = round(gap, 4)
    return report


class ProbeGroup(BaseModel):
    """Mean model score over every template filled with the group's probe phrases."""

    language: str
    axis: str
    group: str
    n: int
    mean_score: float


class ProbeAxis(BaseModel):
    """Score gaps between the groups of one axis: of the overall means, and worst per template."""

    language: str
    axis: str
    mean_gap: float
    high_group: str
    low_group: str
    worst_gap: float
    worst_template: str
    ci_low: float | None = None  # bootstrap interval of mean_gap over templates (see probe_gate)
    ci_high: float | None = None


class ProbeReport(BaseModel):
    """Counterfactual probe results; `max_mean_gap` feeds the promotion gate."""

    groups: list[ProbeGroup] = Field(default_factory=list)
    axes: list[ProbeAxis] = Field(default_factory=list)
    max_mean_gap: float = 0.0
    max_worst_gap: float = 0.0
    languages: list[str] = Field(default_factory=list)  # languages probed
    language_shares: dict[str, float] = Field(default_factory=dict)  # documents per language in the corpus


def _positive_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    return scores[:, -1] if scores.ndim == 2 else scores


def counterfactual_probe(
    predict_proba: Callable[[list[str]], np.ndarray], cfg: AuditConfig, lexicon: Lexicon | None = None, languages: list[str] | None = None
) -> ProbeReport:
    """Fill every template of `cfg.model.templates[lang]` with each group's probe phrases, score.

    `predict_proba(texts)` returns the positive-class probability per text (shape (n,)) or class
    probabilities (n, k), of which the last column is used. Per language and axis (with >= 2
    groups): mean score per group; mean_gap = max - min of the group means; worst_gap = the
    largest such gap within a single template; `ci_low`/`ci_high`: its bootstrap interval over
    templates (`cfg.model.bootstrap` resamples). `languages`: probe only these (None: all).
    """
    lexicon = lexicon or load_lexicon(cfg)
    report = ProbeReport()
    for lang, templates in sorted(cfg.model.templates.items()):
        if languages is not None and lang not in languages:
            continue
        report.languages.append(lang)
        for axis in cfg.axes:
            groups = {g: p for (la, ax, g), p in lexicon.probe.items() if la == lang and ax == axis and p}
            if len(groups) < 2 or not templates:
                continue
            texts, keys = [], []
            for group, phrases in sorted(groups.items()):
                for ti, template in enumerate(templates):
                    for phrase in phrases:
                        text = template.format(term=phrase)
                        texts.append(text[:1].upper() + text[1:])
                        keys.append((group, ti))
            scores = _positive_scores(predict_proba(texts))
            df = pd.DataFrame({"group": [k[0] for k in keys], "template": [k[1] for k in keys], "score": scores})
            means = df.groupby("group")["score"].agg(["mean", "size"])
            for group, row in means.iterrows():
                report.groups.append(ProbeGroup(language=lang, axis=axis, group=str(group), n=int(row["size"]), mean_score=round(float(row["mean"]), 4)))
            per_template = df.groupby(["template", "group"])["score"].mean().unstack()
            spread = per_template.max(axis=1) - per_template.min(axis=1)
            low, high = gap_interval(per_template.to_numpy(dtype=float), cfg.model.bootstrap, cfg.confidence, cfg.model.seed)
            report.axes.append(
                ProbeAxis(
                    language=lang,
                    axis=axis,
                    mean_gap=round(float(means["mean"].max() - means["mean"].min()), 4),
                    high_group=str(means["mean"].idxmax()),
                    low_group=str(means["mean"].idxmin()),
                    worst_gap=round(float(spread.max()), 4),
                    worst_template=templates[int(spread.idxmax())],
                    ci_low=low,
                    ci_high=high,
                )
            )
    if report.axes:
        report.max_mean_gap = max(a.mean_gap for a in report.axes)
        report.max_worst_gap = max(a.worst_gap for a in report.axes)
    return report


def model_gate(model_report: ModelAuditReport, probe_report: ProbeReport | None, cfg: AuditConfig) -> tuple[bool, str]:
    """Promotion decision: (True, reason) when the AUC gap is within `cfg.model.max_subgroup_auc_gap`
    and no probe axis *fails* `max_counterfactual_gap` (None: no limit). An axis fails only when the
    bootstrap interval of its gap lies entirely above the limit; one whose interval contains the
    limit is `inconclusive`: named in the reason, not blocking (see `tasks/audit/probe_gate.py`)."""
    mc, problems, notes = cfg.model, [], []
    gap = model_report.max_subgroup_auc_gap
    if mc.max_subgroup_auc_gap is not None and gap is not None:
        text = f"subgroup AUC gap {gap:.3f} ({model_report.worst}) vs limit {mc.max_subgroup_auc_gap}"
        (problems if gap > mc.max_subgroup_auc_gap else notes).append(text)
    if probe_report is not None and mc.max_counterfactual_gap is not None and probe_report.axes:
        limit = mc.max_counterfactual_gap
        judged = [(verdict(a.mean_gap, a.ci_low, a.ci_high, limit), a) for a in probe_report.axes]
        for state in ("fail", "inconclusive", "pass"):
            axes = [a for v, a in judged if v == state]
            if not axes:
                continue
            worst = max(axes, key=lambda a: a.mean_gap)
            interval = f" [{worst.ci_low:.3f}, {worst.ci_high:.3f}]" if worst.ci_low is not None else ""
            text = (
                f"counterfactual gap {worst.mean_gap:.3f}{interval} on {worst.language}/{worst.axis} ({worst.high_group} > {worst.low_group}) vs limit {limit}"
            )
            if state == "fail":
                problems.append(text + (f"; {len(axes)} axes fail" if len(axes) > 1 else ""))
            elif state == "inconclusive":
                notes.append(f"inconclusive: {text} (the interval contains the limit; {len(axes)} axis/axes, not blocking)")
            else:
                notes.append(text)
            break  # the most severe state found is the one reported
    if problems:
        return False, "not promoted: " + "; ".join(problems)
    return True, "promoted: " + ("; ".join(notes) if notes else "no fairness limit applied")
