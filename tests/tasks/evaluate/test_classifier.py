"""The evaluate stage of a classifier, with a small deterministic predictor over a literal split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tasks.evaluate.classifier import evaluate_classifier
from tasks.evaluate.config import EvaluateConfig


class WordCountPredictor:
    """P(long) = min(words / 4, 1): texts of 2+ words are predicted `long`."""

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        p_long = np.clip(df["text"].str.split().str.len().to_numpy() / 4, 0, 1)
        return pd.DataFrame(
            {"label": np.where(p_long >= 0.5, "long", "short"), "score": np.maximum(p_long, 1 - p_long), "prob_long": p_long, "prob_short": 1 - p_long}
        )


def test_evaluate_classifier_metrics_and_plots(tmp_path: Path) -> None:
    test = pa.table(
        {"id": ["a", "b", "c", "d", "e"], "text": ["hi", "two words", "one two three four", "x", "a b c"], "label": ["short", "short", "long", None, "long"]}
    )
    got = evaluate_classifier(WordCountPredictor(), test, EvaluateConfig(calibration_bins=4), tmp_path)
    # the unlabelled row is skipped; "two words" (P(long) = .5) is the one mistake
    assert got.report.n == 4 and got.predictions["id"].tolist() == ["a", "b", "c", "e"]
    assert got.report.labels == ["long", "short"]
    assert got.metrics["accuracy"] == pytest.approx(0.75)
    # positive class "short": P(short) of shorts .75 .5 vs longs 0 .25 -> all pairs ordered
    assert got.metrics["roc_auc"] == pytest.approx(1.0)
    assert sorted(p.name for p in got.plots.values()) == ["confusion_matrix.png", "reliability.png"]
    assert all(p.stat().st_size > 1000 for p in got.plots.values())
    from tasks.evaluate.baselines import gains
    from tasks.train.kinds import reports_metric

    emitted = {**got.metrics, **gains(got.metrics, got.metrics)}  # what the stage logs, baseline figures included
    assert [m for m in emitted if not reports_metric("lstm_classifier", EvaluateConfig(), m)] == []  # declared by the kind


def test_unknown_true_label_is_an_error() -> None:
    test = pa.table({"text": ["hi"], "label": ["medium"]})
    with pytest.raises(ValueError, match="medium"):
        evaluate_classifier(WordCountPredictor(), test, EvaluateConfig())
