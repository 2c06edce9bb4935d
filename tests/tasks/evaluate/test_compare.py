"""Promotion comparison and running a predictor over a split, on literal inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tasks.evaluate.compare import compare_with_champion, labels_from_predictions, predict_split, proba_matrix
from tasks.evaluate.config import EvaluateConfig


def test_no_champion_means_better() -> None:
    got = compare_with_champion({"macro_f1": 0.7}, None, EvaluateConfig(metric="macro_f1"))
    assert got.better and got.champion_value is None and got.reason == "no champion yet"


def test_higher_is_better_with_min_improvement() -> None:
    cfg = EvaluateConfig(metric="macro_f1", min_improvement=0.02)
    assert not compare_with_champion({"macro_f1": 0.81}, {"macro_f1": 0.80}, cfg).better
    win = compare_with_champion({"macro_f1": 0.83}, {"macro_f1": 0.80}, cfg)
    assert win.better and win.candidate_value == 0.83 and win.champion_value == 0.80
    assert "beats" in win.reason


def test_equal_is_not_better_and_lower_is_better_metrics() -> None:
    assert not compare_with_champion({"macro_f1": 0.8}, {"macro_f1": 0.8}, EvaluateConfig(metric="macro_f1")).better
    cfg = EvaluateConfig(metric="perplexity", higher_is_better=False)
    assert compare_with_champion({"perplexity": 90.0}, {"perplexity": 100.0}, cfg).better
    lose = compare_with_champion({"perplexity": 110.0}, {"perplexity": 100.0}, cfg)
    assert not lose.better and "does not beat" in lose.reason


def test_missing_metric() -> None:
    cfg = EvaluateConfig(metric="accuracy")
    assert not compare_with_champion({"macro_f1": 0.9}, {"accuracy": 0.5}, cfg).better
    assert compare_with_champion({"accuracy": 0.4}, {"macro_f1": 0.5}, cfg).better


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="metrc"):
        EvaluateConfig.model_validate({"metrc": "accuracy"})


class LengthPredictor:
    """A real (tiny) predictor: P(long) grows with the number of words; records its batch sizes."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        self.batches.append(len(df))
        assert list(df.columns) == ["text"]
        p_long = np.clip(df["text"].str.split().str.len().to_numpy() / 4, 0, 1)
        return pd.DataFrame(
            {"label": np.where(p_long >= 0.5, "long", "short"), "score": np.maximum(p_long, 1 - p_long), "prob_short": 1 - p_long, "prob_long": p_long}
        )


def test_predict_split_batches_and_keeps_ids() -> None:
    table = pa.table({"id": ["a", "b", "c"], "text": ["one", "one two three", "a b c d e"], "label": ["short", "long", "long"], "input_ids": [[1], [2], [3]]})
    predictor = LengthPredictor()
    out = predict_split(predictor, table, batch_size=2)
    assert predictor.batches == [2, 1]
    assert out["id"].tolist() == ["a", "b", "c"]
    assert out["label"].tolist() == ["short", "long", "long"]
    labels = labels_from_predictions(out)
    assert labels == ["short", "long"]
    np.testing.assert_allclose(proba_matrix(out, labels)[:, 1], [0.25, 0.75, 1.0])


def test_predict_split_needs_an_input_column() -> None:
    with pytest.raises(ValueError, match="none of the predictor inputs"):
        predict_split(LengthPredictor(), pa.table({"id": ["a"]}))


def test_an_unresolved_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="unset"):
        compare_with_champion({"macro_f1": 0.7}, None, EvaluateConfig())
