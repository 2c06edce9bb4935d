"""Candidate vs champion on the promotion metric, and running a Predictor over a test split."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

from tasks.evaluate.config import EvaluateConfig

PREDICTOR_INPUTS = ("text", "user_id", "history")


class Comparison(BaseModel):
    """Whether the candidate beats the champion on `metric`, with both values and why."""

    better: bool
    metric: str
    candidate_value: float | None
    champion_value: float | None
    reason: str


class Predictor(Protocol):
    """Anything with `predict(DataFrame) -> DataFrame` (the bundle's Predictor, an MLflow pyfunc)."""

    def predict(self, df: pd.DataFrame) -> pd.DataFrame: ...


def compare_with_champion(candidate: dict[str, float], champion: dict[str, float] | None, cfg: EvaluateConfig) -> Comparison:
    """Decide whether `candidate` beats `champion` on `cfg.metric`: strictly, and by at least
    `cfg.min_improvement` (in the metric's units, in the better direction).

    No champion (or a champion without the metric) means the candidate is better; a candidate
    without the metric is never better. `cfg.metric` must be set (the model's promotion metric,
    `tasks.train.kinds.promotion_metric`); unset raises ValueError.
    """
    metric = cfg.metric
    if metric is None:
        raise ValueError("compare_with_champion: cfg.metric is unset; resolve the model's promotion metric first")
    value = candidate.get(metric)
    if value is None or not np.isfinite(value):
        return Comparison(
            better=False,
            metric=metric,
            candidate_value=None,
            champion_value=(champion or {}).get(metric),
            reason=f"candidate has no finite {metric!r} (has {sorted(candidate)})",
        )
    if champion is None:
        return Comparison(better=True, metric=metric, candidate_value=value, champion_value=None, reason="no champion yet")
    best = champion.get(metric)
    if best is None:
        return Comparison(better=True, metric=metric, candidate_value=value, champion_value=None, reason=f"champion has no {metric!r}")
    gain = value - best if cfg.higher_is_better else best - value
    direction = "higher" if cfg.higher_is_better else "lower"
    better = gain > 0 and gain >= cfg.min_improvement
    verdict = "beats" if better else "does not beat"
    return Comparison(
        better=better,
        metric=metric,
        candidate_value=value,
        champion_value=best,
        reason=(
            f"{metric} {value:.4f} vs champion {best:.4f} ({direction} is better, "
            f"improvement {gain:+.4f}, required > 0 and >= {cfg.min_improvement:g}): candidate {verdict} champion"
        ),
    )


def predict_split(predictor: Predictor, table: pa.Table, batch_size: int = 256) -> pd.DataFrame:
    """Run `predictor` over `table` (a test split with raw `text`, or `user_id`/`history`) in batches.

    Only the predictor's input columns present in the table are passed. Returns one row per input
    row, in order: `id` (when the table has it) followed by the predictor's output columns.
    """
    inputs = [name for name in PREDICTOR_INPUTS if name in table.column_names]
    if not inputs:
        raise ValueError(f"table has none of the predictor inputs {PREDICTOR_INPUTS}: {table.column_names}")
    frames = []
    for start in range(0, table.num_rows, batch_size):
        batch = table.slice(start, batch_size).select(inputs).to_pandas()
        out = predictor.predict(batch)
        if len(out) != len(batch):
            raise ValueError(f"predictor returned {len(out)} rows for {len(batch)} inputs")
        frames.append(out.reset_index(drop=True))
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if "id" in table.column_names:
        result.insert(0, "id", table.column("id").to_pylist())
    return result


def proba_matrix(predictions: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """The n x len(labels) probability matrix from a classifier's `prob_<label>` columns."""
    missing = [f"prob_{lab}" for lab in labels if f"prob_{lab}" not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack columns {missing}")
    return np.column_stack([predictions[f"prob_{lab}"].to_numpy(dtype=np.float64) for lab in labels])


def labels_from_predictions(predictions: pd.DataFrame) -> list[str]:
    """Class names in column order from a classifier's `prob_<label>` columns."""
    return [col[len("prob_") :] for col in predictions.columns if col.startswith("prob_")]
