"""The registry of model kinds and the `ModelConfig` union parsed from YAML `models.<name>`."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tasks.train.kind import ModelKind
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind
from tasks.train.models.lstm_recommender import RecommenderConfig, RecommenderKind
from tasks.train.models.lstm_summarizer import SummarizerConfig, SummarizerKind

ModelConfig = Annotated[
    ClassifierConfig | LanguageModelConfig | RecommenderConfig | SummarizerConfig,
    Field(discriminator="kind"),
]

KINDS: dict[str, type[ModelKind[Any]]] = {
    kind.name: kind for kind in (ClassifierKind, LanguageModelKind, RecommenderKind, SummarizerKind)
}


def get_kind(name: str) -> ModelKind[Any]:
    """Kind name (the YAML `kind:` value) -> a fresh `ModelKind` instance; unknown names raise
    `KeyError` listing the known ones."""
    if name not in KINDS:
        raise KeyError(f"unknown model kind {name!r}; known: {sorted(KINDS)}")
    return KINDS[name]()
