"""The clean stage: typed steps over Arrow shards, grouped into row phases and corpus-wide dedup phases."""
from tasks.clean.base import DECISION_SCHEMA, PhaseResult, StepCount, StepCounters
from tasks.clean.config import CleanConfig
from tasks.clean.plan import CleanPlan, DedupPhase, RowPhase, build_plan, quarantine_schema

__all__ = ["DECISION_SCHEMA", "CleanConfig", "CleanPlan", "DedupPhase", "PhaseResult", "RowPhase", "StepCount",
           "StepCounters", "build_plan", "quarantine_schema"]
