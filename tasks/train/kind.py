"""The contract between the one trainer and each model kind (classifier, LM, recommender, summarizer).

A kind is a small object with no state of its own: it turns a tokens table into examples, builds
its `nn.Module`, collates examples into tensors, computes the loss and validation metrics, and
wraps a trained module into a `Predictor` (raw input DataFrame -> predictions DataFrame).
`trainer.train_model` drives any kind; `bundle.load_predictor` rebuilds any kind from its files.

Conventions every kind follows:
- Examples are plain Python objects (a dict of small tensors/ints per example is recommended);
  `example_length` gives the length used for length bucketing.
- `collate` returns a dict of CPU tensors; padding uses id 0 and is masked by lengths, never
  learned. The trainer moves every batch tensor to the device except `lengths` (kept on the CPU
  for `pack_padded_sequence`). When examples carry an instance weight, the batch holds it as `"weight"` (float32,
  one per example) and `loss` honours it (weighted mean).
- `meta` is JSON-able (label names, item vocabulary, special token ids ...): it is written to
  `meta.json` in the bundle and given back to `build` and `predictor` at load time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import pandas as pd
import pyarrow as pa
import torch
from pydantic import BaseModel
from tokenizers import Tokenizer
from torch import Tensor, nn

CfgT = TypeVar("CfgT", bound=BaseModel)

SPLITS = ("train", "validation", "test")


@dataclass
class Prepared:
    """A kind's examples per split (`train`, `validation`, `test`) and its JSON-able `meta`."""

    splits: dict[str, list[Any]]
    meta: dict[str, Any] = field(default_factory=dict)


class Predictor(Protocol):
    """What `load_predictor` returns and the MLflow pyfunc calls."""

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Raw input rows (e.g. a `text` column) -> one prediction row per input row, same order."""
        ...


class BatchPredictor(ABC):
    """Base for kinds' predictors: splits the input into chunks of `batch_rows` rows and runs
    `predict_batch` on each under `torch.inference_mode()` with the module in eval mode."""

    def __init__(self, model: nn.Module, batch_rows: int = 256) -> None:
        self.model = model.eval()
        self.batch_rows = batch_rows

    @property
    def device(self) -> torch.device:
        """The device the module's parameters live on; inputs are moved there."""
        return next(self.model.parameters()).device

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Input DataFrame -> predictions DataFrame (index 0..n-1, one row per input row)."""
        parts = []
        with torch.inference_mode():
            for start in range(0, len(df), self.batch_rows):
                chunk = df.iloc[start : start + self.batch_rows].reset_index(drop=True)
                parts.append(self.predict_batch(chunk))
        if not parts:
            return self.predict_batch(df.iloc[0:0].reset_index(drop=True))
        return pd.concat(parts, ignore_index=True)

    @abstractmethod
    def predict_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        """At most `batch_rows` input rows -> their predictions (called under inference mode)."""


def baseline_metric_names(metrics: tuple[str, ...], evaluate: Any) -> tuple[str, ...]:
    """A kind's test metric names + the evaluate config -> the names the evaluate stage's baseline
    adds (`baseline_<m>`, `gain_over_baseline_<m>`), none when `evaluate.baseline` is `none`."""
    if getattr(evaluate, "baseline", "none") == "none":
        return ()
    return tuple(f"{prefix}{m}" for m in metrics for prefix in ("baseline_", "gain_over_baseline_"))


class ModelKind(ABC, Generic[CfgT]):
    """One model kind. Subclass it once per module in `tasks/train/models/`.

    Class attributes: `name` (the YAML `kind:` value), `config_class` (its pydantic config, with
    `kind: Literal[name]` and `train: TrainConfig`), `monitor`/`mode` (default validation metric
    for early stopping and best-epoch selection, e.g. "accuracy"/"max").
    """

    name: ClassVar[str]
    config_class: ClassVar[type[BaseModel]]
    monitor: ClassVar[str]
    mode: ClassVar[Literal["max", "min"]]
    promotion_metric: ClassVar[str | None] = None  # higher-is-better test metric promoting when `evaluate.metric` is unset; None: `monitor`/`mode`

    @classmethod
    def test_metrics(cls, evaluate: Any) -> tuple[str, ...]:
        """The evaluate stage's config (`EvaluateConfig`) -> the names of the test metrics the
        evaluate stage reports for this kind, baseline figures included (`fnmatch` patterns such as
        `f1.*` for per-label names). `evaluate.metric` must be one of them. Default: `monitor`."""
        return (cls.monitor,)

    @abstractmethod
    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: CfgT) -> Prepared:
        """Tokens table (`id`, `input_ids` list<int32>, `length`, `split`, `label`, optional
        `weight`, carried columns) -> examples per split and meta. Deterministic."""

    @abstractmethod
    def build(self, cfg: CfgT, meta: dict[str, Any], vocab_size: int) -> nn.Module:
        """Config + meta + tokenizer vocabulary size -> a freshly initialised module (CPU)."""

    @abstractmethod
    def collate(self, examples: list[Any]) -> dict[str, Tensor]:
        """Examples -> a batch of CPU tensors (with `"weight"` when the examples carry one)."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Batch (on the model's device) -> (scalar mean loss, weighted where weights exist;
        number of tokens processed, for throughput)."""

    @abstractmethod
    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Tensor]]) -> dict[str, float]:
        """Validation batches (on device; called in eval + inference mode) -> metrics by name.
        Must contain `self.monitor`."""

    @abstractmethod
    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: CfgT) -> BatchPredictor:
        """Trained module (already on its device) -> a Predictor over raw input DataFrames."""

    def example_length(self, example: Any) -> int:
        """Length of one example for bucketing; default: `len(example["input_ids"])`."""
        return len(example["input_ids"])

    def param_groups(self, model: nn.Module, cfg: CfgT) -> list[dict[str, Any]]:
        """Optimiser parameter groups. A group may hold `lr_scale` (multiplies `train.lr`), used
        for discriminative learning rates. Default: one group with every parameter."""
        return [{"params": list(model.parameters())}]

    def on_epoch_start(self, model: nn.Module, cfg: CfgT, epoch: int) -> None:
        """Hook before each epoch (0-based), also after a resume: e.g. gradual unfreezing.
        Must depend only on `epoch`, so resumed runs match uninterrupted ones."""

    def finalize(self, model: nn.Module, prepared: Prepared, cfg: CfgT) -> dict[str, Any]:
        """Hook after training, with the best weights: choices made with the trained model on the
        validation split (e.g. a summary length) -> JSON-able entries added to `meta` (and so to
        the bundle). Default: none."""
        return {}

    def training_examples(self, prepared: Prepared, cfg: CfgT, cache_dir: Path | None = None) -> Prepared:
        """Hook of the train stage only (evaluation and baselines call `prepare` alone), after
        `prepare`: e.g. teacher logits for distillation, cached under `cache_dir`. Default: unchanged."""
        return prepared

    def warm_start(self, model: nn.Module, cfg: CfgT) -> None:
        """Hook after `build` for a fresh (not resumed) training run: e.g. load pretrained weights."""
