"""The clean stage: typed steps over Arrow shards, grouped into row phases and corpus-wide dedup phases.

The names below are loaded on first use (PEP 562), so that importing `tasks.clean.config` (the
config parser does) does not import the dedup and PII machinery."""

from tasks.common.lazy import lazy_exports

_EXPORTS = {  # module -> the names it exports here
    "tasks.clean.base": ("DECISION_SCHEMA", "PhaseResult", "StepCount", "StepCounters"),
    "tasks.clean.config": ("CleanConfig",),
    "tasks.clean.plan": ("CleanPlan", "DedupPhase", "RowPhase", "build_plan", "quarantine_schema"),
}
__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
