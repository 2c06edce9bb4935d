"""The registry of clean steps: YAML name -> step class. A step is one class (with its `name` and
its `params` class, in its own module) plus one line here; `config.py` validates the names and
parameters against this registry and `plan.py` builds the phases from it."""

from __future__ import annotations

from tasks.clean.base import Deduplicator, RowStep
from tasks.clean.dedup import ExactDedup, NearDedup
from tasks.clean.filters import LanguageFilter, LengthFilter, QualityFilter, RepetitionFilter
from tasks.clean.normalize import Normalize
from tasks.clean.pii import Pii

STEPS: dict[str, type[RowStep] | type[Deduplicator]] = {
    step.name: step for step in (Normalize, LengthFilter, LanguageFilter, QualityFilter, RepetitionFilter, ExactDedup, NearDedup, Pii)
}
