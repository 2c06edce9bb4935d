"""Typed configuration of the evaluate stage (YAML section `evaluate:`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tasks.evaluate.exposure import ExposureConfig


class EvaluateConfig(BaseModel):
    """Which test metric decides promotion, in which direction, and by how much it must improve.

    `metric` names one of the test metrics the evaluate stage reports for the pipeline's model kinds
    (each kind declares them: `ModelKind.test_metrics`), e.g. `accuracy`, `macro_f1`, `roc_auc`,
    `ece` for `lstm_classifier`; `perplexity` for `lstm_lm`; `hit_at_10`, `ndcg_at_10`, `mrr` for
    `lstm_recommender` (the `10` is `exposure.k`); `rouge1_f`, `rouge2_f`, `rougeL_f` for
    `lstm_summarizer`; `gain_over_baseline_<metric>` where a baseline is computed. A metric a
    model's kind does not report is a config error (except for an `lstm_lm` that only warm-starts
    another model: it is judged on its perplexity). Unset: each kind's own (`macro_f1` for
    classifiers, else the kind's validation monitor). `higher_is_better` is False for losses such
    as `ece` or `perplexity`. `calibration_bins` is the number of equal-width confidence bins of
    ECE and of the reliability plot.
    """

    model_config = ConfigDict(extra="forbid")

    metric: str | None = Field(default=None, description="promotion test metric; unset: the kind's own")
    higher_is_better: bool = True
    min_improvement: float = Field(default=0.0, ge=0.0)
    calibration_bins: int = Field(default=10, ge=1)
    batch_size: int = Field(default=256, ge=1, description="rows per predictor call on the test split")
    baseline: Literal["auto", "word", "char", "none"] = Field(
        default="auto",
        description="classifier baseline: TF-IDF word 1-2-grams, char 1-3-grams, auto (char "
        "for CJK corpora) or none; language models get a Kneser-Ney n-gram baseline unless none",
    )
    baseline_order: int = Field(default=3, ge=1, le=6, description="n of the Kneser-Ney baseline of language models")
    min_gain_over_baseline: float | None = Field(
        default=None,
        description="promotion gate: the model must beat the baseline on `metric` by at least "
        "this much (0.02 = 2 points of accuracy; for perplexity, baseline minus model); null: no gate",
    )
    exposure: ExposureConfig = Field(default_factory=ExposureConfig, description="recommenders: list length and exposure gate")
