"""Training settings shared by every model kind (YAML `pipelines.<p>.models.<name>.train`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainConfig(BaseModel):
    """How the one trainer (`tasks.train.trainer.train_model`) runs a model kind.

    `monitor`/`mode` default to the kind's own validation metric (e.g. accuracy/max for the
    classifier, perplexity/min for the language model) when left as null.
    """

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=5, ge=1)
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    grad_clip: float | None = Field(default=1.0, gt=0, description="max global grad norm; null disables")
    schedule: Literal["warmup_linear", "one_cycle", "constant"] = "warmup_linear"
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    early_stopping_patience: int | None = Field(default=2, ge=0, description="epochs without improvement; null disables")
    monitor: str | None = Field(default=None, description="validation metric to select the best epoch; null: the kind's default")
    mode: Literal["max", "min"] | None = Field(default=None, description="whether `monitor` should go up or down; null: the kind's default")
    seed: int = 13
    deterministic: bool = True
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    amp: bool = Field(default=True, description="bf16/fp16 autocast; used on CUDA only")
    checkpoint_every_steps: int | None = Field(default=None, ge=1, description="extra checkpoints inside an epoch")
    max_steps: int | None = Field(default=None, ge=1, description="stop after this many optimiser steps in total")
    bucket_size: int = Field(default=50, ge=1, description="batches per length-sorted pool (length bucketing)")
    eval_batch_size: int | None = Field(default=None, ge=1, description="validation batch size; null: 2 x batch_size")
    progress: bool = True
