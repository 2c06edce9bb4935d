"""The registry of model kinds and the `ModelConfig` union parsed from YAML `models.<name>`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tasks.train.kind import ModelKind
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind
from tasks.train.models.lstm_recommender import RecommenderConfig, RecommenderKind
from tasks.train.models.lstm_summarizer import SummarizerConfig, SummarizerKind

ModelConfig = Annotated[ClassifierConfig | LanguageModelConfig | RecommenderConfig | SummarizerConfig, Field(discriminator="kind")]

KINDS: dict[str, type[ModelKind[Any]]] = {kind.name: kind for kind in (ClassifierKind, LanguageModelKind, RecommenderKind, SummarizerKind)}


def get_kind(name: str) -> ModelKind[Any]:
    """Kind name (the YAML `kind:` value) -> a fresh `ModelKind` instance; unknown names raise
    `KeyError` listing the known ones."""
    if name not in KINDS:
        raise KeyError(f"unknown model kind {name!r}; known: {sorted(KINDS)}")
    return KINDS[name]()


def test_metrics(kind: str, evaluate: Any) -> tuple[str, ...]:
    """Kind name + `EvaluateConfig` -> the test metric names (fnmatch patterns) the evaluate stage reports."""
    return KINDS[kind].test_metrics(evaluate)


def reports_metric(kind: str, evaluate: Any, metric: str) -> bool:
    """True when the evaluate stage reports `metric` for models of `kind` under `evaluate`."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(metric, pattern) for pattern in test_metrics(kind, evaluate))


def promotion_metric(kind: str, evaluate: Any) -> tuple[str, bool]:
    """The metric (and whether higher is better) that promotes a model of `kind`: `evaluate.metric`
    when set and reported for the kind (the config refuses other set metrics, but for an LM that only
    warm-starts another model), else the kind's own (`promotion_metric`, or its `monitor`/`mode`)."""
    if evaluate.metric is not None and reports_metric(kind, evaluate, evaluate.metric):
        return evaluate.metric, evaluate.higher_is_better
    cls = KINDS[kind]
    if cls.promotion_metric is not None:  # declared higher-is-better
        return cls.promotion_metric, True
    return cls.monitor, cls.mode == "max"
