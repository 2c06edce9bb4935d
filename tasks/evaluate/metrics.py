"""Test-split metrics: classification (accuracy, F1, ROC-AUC, ECE), perplexity, ranking, ROUGE.

Plain functions over arrays; scikit-learn computes what it has. Every report is a pydantic model
with `flat()` giving the `{name: float}` dict that is logged to MLflow and used for promotion.
"""

from __future__ import annotations

import math
import re
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


def classification_metrics(y_true: Sequence[str] | np.ndarray, proba: np.ndarray, labels: list[str], calibration_bins: int = 10) -> ClassificationReport:
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
    precision, recall, f1, support = precision_recall_fscore_support(y, y_pred, labels=labels, zero_division=0.0)
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
