"""Typed configuration of the evaluate stage (YAML section `evaluate:`)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tasks.evaluate.exposure import ExposureConfig


class EvaluateConfig(BaseModel):
    """Which test metric decides promotion, in which direction, and by how much it must improve.

    `metric` names a key of the candidate's metrics (e.g. `macro_f1`, `accuracy`, `roc_auc`,
    `ece`, `perplexity`, `hit_rate`, `rouge_l`); `higher_is_better` is False for losses such as
    `ece` or `perplexity`. `calibration_bins` is the number of equal-width confidence bins of ECE
    and of the reliability plot.
    """

    model_config = ConfigDict(extra="forbid")

    metric: str = "macro_f1"
    higher_is_better: bool = True
    min_improvement: float = Field(default=0.0, ge=0.0)
    calibration_bins: int = Field(default=10, ge=1)
    batch_size: int = Field(default=256, ge=1, description="rows per predictor call on the test split")
    exposure: ExposureConfig = Field(default_factory=ExposureConfig, description="recommenders: list length and exposure gate")
