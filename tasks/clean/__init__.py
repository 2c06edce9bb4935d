"""The clean stage: typed steps over Arrow shards, grouped into row phases and corpus-wide dedup phases.

The names below are loaded on first use (PEP 562), so that importing `tasks.clean.config` (the
config parser does) does not import the dedup and PII machinery."""

from tasks.common.lazy import lazy_exports

_EXPORTS = {
    "DECISION_SCHEMA": "tasks.clean.base",
    "PhaseResult": "tasks.clean.base",
    "StepCount": "tasks.clean.base",
    "StepCounters": "tasks.clean.base",
    "CleanConfig": "tasks.clean.config",
    "CleanPlan": "tasks.clean.plan",
    "DedupPhase": "tasks.clean.plan",
    "RowPhase": "tasks.clean.plan",
    "build_plan": "tasks.clean.plan",
    "quarantine_schema": "tasks.clean.plan",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
