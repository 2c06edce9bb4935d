"""The plots are real PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.evaluate.metrics import classification_metrics
from tasks.evaluate.plots import confusion_matrix_png, reliability_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_confusion_and_reliability_png(tmp_path: Path) -> None:
    labels = ["neg", "pos", "neutral"]
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    y = ["neg", "pos", "neutral", "pos"]
    report = classification_metrics(y, proba, labels)
    cm = confusion_matrix_png(report, tmp_path / "plots" / "confusion.png")
    rel = reliability_png(y, proba, labels, tmp_path / "reliability.png", bins=5)
    for path in (cm, rel):
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000
