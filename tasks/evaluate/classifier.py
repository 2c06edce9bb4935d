"""The evaluate stage for a classifier: predict the test split, compute metrics, draw the plots.

The same function scores the candidate (its bundle Predictor) and the current champion (its
MLflow pyfunc), so both are compared on the same rows.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from tasks.evaluate.compare import Predictor, labels_from_predictions, predict_split, proba_matrix
from tasks.evaluate.config import EvaluateConfig
from tasks.evaluate.metrics import ClassificationReport, classification_metrics
from tasks.evaluate.plots import confusion_matrix_png, reliability_png


class ClassifierEvaluation(BaseModel):
    """Test-split report, its flat metrics, the plot files written, and the per-row predictions."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    report: ClassificationReport
    metrics: dict[str, float]
    plots: dict[str, Path]
    predictions: pd.DataFrame


def evaluate_classifier(
    predictor: Predictor, test: pa.Table, cfg: EvaluateConfig, plot_dir: Path | None = None,
    label_column: str = "label",
) -> ClassifierEvaluation:
    """Score `test` (rows with raw `text` and a true `label`; unlabelled rows are skipped) with
    `predictor` and return metrics; with `plot_dir`, also write `confusion_matrix.png` and
    `reliability.png` there. Class order is the predictor's `prob_<class>` column order; a true
    label the model does not know raises ValueError."""
    labelled = test.filter(pc.is_valid(test[label_column]))
    predictions = predict_split(predictor, labelled, cfg.batch_size)
    labels = labels_from_predictions(predictions)
    y_true = [str(v) for v in labelled.column(label_column).to_pylist()]
    proba = proba_matrix(predictions, labels)
    report = classification_metrics(y_true, proba, labels, cfg.calibration_bins)
    plots: dict[str, Path] = {}
    if plot_dir is not None:
        plots["confusion_matrix"] = confusion_matrix_png(report, Path(plot_dir) / "confusion_matrix.png")
        plots["reliability"] = reliability_png(y_true, proba, labels, Path(plot_dir) / "reliability.png",
                                               cfg.calibration_bins)
    return ClassifierEvaluation(report=report, metrics=report.flat(), plots=plots, predictions=predictions)
