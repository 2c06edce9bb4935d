"""The evaluate stage for a language model: its own test perplexity and loss (the kind's
validation metrics on the test windows), and a Kneser-Ney n-gram baseline on the same windows."""

from __future__ import annotations

from tasks.evaluate.baselines import BaselineResult, lm_baseline
from tasks.evaluate.evaluator import EvalContext, KindEvaluator
from tasks.train.models.lstm_lm import LanguageModelKind


class LanguageModelEvaluator(KindEvaluator):
    """`lstm_lm`: the default test evaluation plus the Kneser-Ney baseline of `evaluate.baseline_order`."""

    kind = LanguageModelKind.name

    def baseline(self, ctx: EvalContext) -> BaselineResult | None:
        """Kneser-Ney over the same token ids and test targets as the LSTM (the kind's windows)."""
        return lm_baseline(ctx.bundle.kind, ctx.tokens, ctx.bundle.tokenizer, ctx.job.model, ctx.job.evaluate.baseline_order)
