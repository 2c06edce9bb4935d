"""Test-split metrics: classification (accuracy, F1, ROC-AUC, ECE), perplexity, ranking, ROUGE.

Plain functions over arrays; scikit-learn computes what it has. Every report is a pydantic model
with `flat()` giving the `{name: float}` dict that is logged to MLflow and used for promotion.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support, roc_auc_score


_METRIC_UNSAFE = re.compile(r"[^\w.\- /]")


class ClassMetrics(BaseModel):
    """Precision, recall, F1 and support of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


class ClassificationReport(BaseModel):
    """Metrics of a classifier on one split; `confusion[i][j]` counts true `labels[i]` predicted `labels[j]`."""

    n: int
    labels: list[str]
    accuracy: float
    macro_f1: float
    roc_auc: float | None  # None when the split holds a single class
    ece: float
    confusion: list[list[int]]
    per_class: list[ClassMetrics]

    def flat(self) -> dict[str, float]:
        """Scalar metrics by name (per-class ones as `f1.<label>` etc.), for MLflow and promotion."""
        out: dict[str, float] = {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "ece": self.ece}
        if self.roc_auc is not None:
            out["roc_auc"] = self.roc_auc
        for cls in self.per_class:
            name = _METRIC_UNSAFE.sub("_", cls.label)  # MLflow metric names: word chars . - / space
            out[f"precision.{name}"] = cls.precision
            out[f"recall.{name}"] = cls.recall
            out[f"f1.{name}"] = cls.f1
        return out


def classification_metrics(
    y_true: Sequence[str] | np.ndarray, proba: np.ndarray, labels: list[str], calibration_bins: int = 10,
) -> ClassificationReport:
    """Metrics of class probabilities `proba` (n x len(labels), columns in `labels` order) against true labels.

    The prediction is the arg-max column. ROC-AUC is the positive class `labels[1]`'s AUC for two
    labels and the one-vs-rest macro average for more; None when fewer than two classes are present.
    """
    y = np.asarray([str(v) for v in y_true], dtype=object)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(y), len(labels)):
        raise ValueError(f"proba has shape {proba.shape}, expected ({len(y)}, {len(labels)})")
    unknown = sorted(set(y) - set(labels))
    if unknown:
        raise ValueError(f"true labels {unknown} are not among the model's labels {labels}")
    y_pred = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y, y_pred, labels=labels, zero_division=0.0,
    )
    per_class = [
        ClassMetrics(label=lab, precision=float(p), recall=float(r), f1=float(f), support=int(s))
        for lab, p, r, f, s in zip(labels, precision, recall, f1, support)
    ]
    return ClassificationReport(
        n=len(y),
        labels=list(labels),
        accuracy=float(accuracy_score(y, y_pred)),
        macro_f1=float(f1_score(y, y_pred, labels=labels, average="macro", zero_division=0.0)),
        roc_auc=_roc_auc(y, proba, labels),
        ece=expected_calibration_error(y == y_pred, proba.max(axis=1), calibration_bins),
        confusion=confusion_matrix(y, y_pred, labels=labels).tolist(),
        per_class=per_class,
    )


def _roc_auc(y: np.ndarray, proba: np.ndarray, labels: list[str]) -> float | None:
    present = [lab for lab in labels if lab in set(y)]
    if len(present) < 2:
        return None
    if len(labels) == 2:
        return float(roc_auc_score(y == labels[1], proba[:, 1]))
    # One-vs-rest macro over the classes present (sklearn needs every column's class to occur).
    aucs = [roc_auc_score(y == lab, proba[:, i]) for i, lab in enumerate(labels) if lab in present]
    return float(np.mean(aucs))


def calibration_bins(correct: np.ndarray, confidence: np.ndarray, bins: int) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of each equal-width confidence bin (0, 1/b], ..., ((b-1)/b, 1]."""
    correct = np.asarray(correct, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    index = np.clip(np.ceil(np.round(confidence * bins, 9)).astype(int) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if count:
            out.append((float(confidence[mask].mean()), float(correct[mask].mean()), count))
        else:
            out.append((0.0, 0.0, 0))
    return out


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, bins: int = 10) -> float:
    """ECE: sum over confidence bins of (bin size / n) * |accuracy - mean confidence| (Guo et al. 2017)."""
    n = len(confidence)
    if n == 0:
        return 0.0
    return float(sum(count / n * abs(acc - conf) for conf, acc, count in calibration_bins(correct, confidence, bins)))


def perplexity(nll_sum: float, n_tokens: int) -> float:
    """Perplexity exp(total negative log-likelihood / tokens) of a language model on a split."""
    if n_tokens <= 0:
        raise ValueError("perplexity needs at least one token")
    return float(math.exp(nll_sum / n_tokens))


def ranking_metrics(true_items: Sequence[str], ranked: Sequence[Sequence[str]], k: int = 10) -> dict[str, float]:
    """Next-item metrics: `hit_rate` (true item in the top k), `mrr` and `ndcg` at k, over all rows."""
    if len(true_items) != len(ranked):
        raise ValueError(f"{len(true_items)} true items but {len(ranked)} rankings")
    hits, rr, ndcg = 0.0, 0.0, 0.0
    for truth, items in zip(true_items, ranked):
        top = list(items)[:k]
        if truth in top:
            rank = top.index(truth) + 1
            hits += 1.0
            rr += 1.0 / rank
            ndcg += 1.0 / math.log2(rank + 1)
    n = max(len(true_items), 1)
    return {"hit_rate": hits / n, "mrr": rr / n, "ndcg": ndcg / n}


def rouge_scores(references: Sequence[str], summaries: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-L F1 over pairs, on lower-cased word tokens
    (each CJK character a token, as is usual for Chinese ROUGE)."""
    if len(references) != len(summaries):
        raise ValueError(f"{len(references)} references but {len(summaries)} summaries")
    totals = {"rouge_1": 0.0, "rouge_2": 0.0, "rouge_l": 0.0}
    for ref, hyp in zip(references, summaries):
        r, h = _tokens(ref), _tokens(hyp)
        totals["rouge_1"] += _overlap_f1(Counter(r), Counter(h))
        totals["rouge_2"] += _overlap_f1(Counter(zip(r, r[1:])), Counter(zip(h, h[1:])))
        lcs = _lcs(r, h)
        totals["rouge_l"] += _f1(lcs, len(h), len(r))
    n = max(len(references), 1)
    return {key: value / n for key, value in totals.items()}


_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\W\u3400-\u4dbf\u4e00-\u9fff]+")


def _tokens(text: str) -> list[str]:
    """Lower-cased words; each CJK character is a token of its own."""
    return _TOKEN.findall(str(text).lower())


def _overlap_f1(ref: Counter, hyp: Counter) -> float:
    return _f1(sum((ref & hyp).values()), sum(hyp.values()), sum(ref.values()))


def _f1(match: int, hyp_len: int, ref_len: int) -> float:
    if match == 0 or hyp_len == 0 or ref_len == 0:
        return 0.0
    precision, recall = match / hyp_len, match / ref_len
    return 2 * precision * recall / (precision + recall)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]
