"""The evaluate side of a model kind: how the evaluate stage scores it on the test split, its
baseline, and the raw input example its registered pyfunc is logged with.

Subclass `KindEvaluator` once per kind next to that kind's evaluation code and add it to
`tasks/evaluate/kinds.py` (one line); a kind without one gets this base: its own validation
metrics (`ModelKind.evaluate`) on the test examples, no gate, no baseline, a `text` input example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.evaluate.baselines import BaselineResult
from tasks.evaluate.outcome import EvalJob
from tasks.train.bundle import Bundle, load_bundle
from tasks.train.device import select_device
from tasks.train.kind import Prepared
from tasks.train.record import TrainRecord


@dataclass
class EvalContext:
    """What one evaluation sees: the job, the training's record, the whole tokens table, a scratch
    folder for plots and the champion's version (None when none)."""

    job: EvalJob
    record: TrainRecord
    tokens: pa.Table
    plot_dir: Path
    champion: str | None

    @cached_property
    def test(self) -> pa.Table:
        """The tokens table's `test` rows."""
        return self.tokens.filter(pc.equal(self.tokens["split"], "test"))

    @cached_property
    def bundle(self) -> Bundle:
        """The trained bundle (module in eval mode, on the CPU), loaded once."""
        return load_bundle(Path(self.record.bundle_dir))

    @cached_property
    def prepared(self) -> Prepared:
        """The kind's examples per split, cut from the tokens table as training cut them."""
        return self.bundle.kind.prepare(self.tokens, self.bundle.tokenizer, self.job.model)

    def device_model(self) -> Any:
        """The bundle's module moved to the device `train.device` selects."""
        return self.bundle.model.to(select_device(self.job.model.train.device))


@dataclass
class KindResult:
    """A kind's test evaluation: flat metrics, per-row predictions, the model gate's verdict and
    reason, the champion's metrics on the same rows when the kind re-scores it (`champion_rescored`;
    else the stage reads the champion's stored metrics), reports for report.json, plot files."""

    metrics: dict[str, float]
    predictions: pa.Table
    passed: bool = True
    reason: str = ""
    champion: dict[str, float] | None = None
    champion_rescored: bool = False
    model_audit: dict[str, Any] | None = None
    probe: dict[str, Any] | None = None
    plots: list[Path] = field(default_factory=list)


class KindEvaluator:
    """The evaluate stage's view of one model kind (`kind` is the YAML `kind:` value)."""

    kind: ClassVar[str] = ""
    input_columns: ClassVar[tuple[str, ...]] = ("id", "text")  # tokens columns `input_example` reads

    def evaluate(self, ctx: EvalContext) -> KindResult:
        """Context -> the kind's test metrics. Default: the kind's validation metrics on the test examples."""
        from tasks.train.trainer import evaluate_examples

        metrics = evaluate_examples(
            ctx.bundle.kind, ctx.device_model(), ctx.prepared.splits["test"], ctx.job.model.train, select_device(ctx.job.model.train.device)
        )
        table = pa.table({"metric": list(metrics), "value": [float(v) for v in metrics.values()]})
        return KindResult(metrics=metrics, predictions=table, reason=f"no group fairness audit for kind {ctx.job.model.kind}")

    def baseline(self, ctx: EvalContext) -> BaselineResult | None:
        """Context -> a baseline scored on the same test rows with the same metrics, or None (default)."""
        return None

    def input_example(self, rows: pd.DataFrame) -> pd.DataFrame:
        """A few raw tokens rows (`input_columns` that exist) -> input rows in the form the pyfunc
        takes (default: three `text` rows); the registered model's signature is inferred from them."""
        return pd.DataFrame({"text": rows["text"].head(3).astype(str).tolist()})
