"""Evaluation plots as PNG files: confusion matrix and reliability diagram (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tasks.common.plotting import use_cjk_fallback
from tasks.evaluate.metrics import ClassificationReport, calibration_bins


def confusion_matrix_png(report: ClassificationReport, path: Path) -> Path:
    """Draw `report.confusion` (rows: true label, columns: predicted) with counts; return `path`."""
    use_cjk_fallback()  # labels may be Chinese (e.g. ChnSentiCorp, THUCNews)
    matrix = np.asarray(report.confusion, dtype=int)
    size = max(3.0, 0.6 * len(report.labels) + 2.0)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(report.labels))
    ax.set_xticks(ticks, report.labels, rotation=45, ha="right")
    ax.set_yticks(ticks, report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in ticks:
        for j in ticks:
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color="white" if matrix[i, j] > threshold else "black")
    ax.set_title(f"Confusion matrix\nn={report.n}, accuracy={report.accuracy:.3f}")
    return _save(fig, path)


def reliability_png(y_true: Sequence[str] | np.ndarray, proba: np.ndarray, labels: list[str], path: Path, bins: int = 10) -> Path:
    """Reliability diagram: accuracy vs mean confidence of the arg-max class per confidence bin."""
    proba = np.asarray(proba, dtype=np.float64)
    predicted = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    correct = np.asarray([str(v) for v in y_true], dtype=object) == predicted
    stats = calibration_bins(correct, proba.max(axis=1), bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    accuracy = [acc if count else 0.0 for _, acc, count in stats]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.bar(centers, accuracy, width=1.0 / bins, edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    used = [(conf, acc) for conf, acc, count in stats if count]
    if used:
        ax.plot(*zip(*used), marker="o", color="tab:red", label="accuracy at mean confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left", fontsize="x-small")
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
