"""The registry of the evaluate side of model kinds: one `KindEvaluator` per kind name.

A new kind adds its evaluator class next to its evaluation code and one line here; a kind with no
line gets the default `KindEvaluator` (its own metrics on the test examples)."""

from __future__ import annotations

from tasks.evaluate.classifier import ClassifierEvaluator
from tasks.evaluate.evaluator import KindEvaluator
from tasks.evaluate.language_model import LanguageModelEvaluator
from tasks.evaluate.recommender import RecommenderEvaluator
from tasks.evaluate.summarizer import SummarizerEvaluator

EVALUATORS: dict[str, type[KindEvaluator]] = {
    evaluator.kind: evaluator for evaluator in (ClassifierEvaluator, LanguageModelEvaluator, RecommenderEvaluator, SummarizerEvaluator)
}


def evaluator_for(kind: str) -> KindEvaluator:
    """Kind name (the YAML `kind:` value) -> its evaluator (the default one for a kind with none)."""
    return EVALUATORS.get(kind, KindEvaluator)()
