"""Prefect task of the register stage: log the pyfunc with its card and papers, then move an alias."""

from __future__ import annotations

import json
import logging
import posixpath
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from prefect import task
from prefect.cache_policies import NONE
from pydantic import BaseModel

from tasks.common import storage
from tasks.common.dataset import DatasetHandle, read_part
from tasks.common.faults import fault_point
from tasks.common.locks import hold
from tasks.common.tracking import resume_run
from tasks.common.version import code_version
from tasks.evaluate.config import EvaluateConfig
from tasks.evaluate.kinds import evaluator_for
from tasks.evaluate.outcome import REPORT_NAME, EvalOutcome, read_outcome
from tasks.register.aliases import decide_alias
from tasks.register.config import RegisterConfig
from tasks.register.log_model import create_version, document_version
from tasks.register.model_card import CardInput, GateResult, group_metric_rows
from tasks.register.recovery import COMPLETE, CREATED, DOCUMENTED, STATE_TAG, finish_alias, keep_lowest, registration_state, set_state, versions_of_training
from tasks.train.bundle import weights_hash
from tasks.train.kinds import ModelConfig
from tasks.train.record import TrainRecord, read_record

_log = logging.getLogger(__name__)


class RegisterJob(BaseModel):
    """Everything one registration needs, by value or by path."""

    pipeline: str
    model_name: str
    registered_name: str
    description: str
    model: ModelConfig
    model_dir: str
    stage_uris: dict[str, str]  # clean, audit, tokens, evaluate
    registry: RegisterConfig
    evaluate: EvaluateConfig
    alias_log: str


class RegisterOutcome(BaseModel):
    """The registered version and the alias it got (and why)."""

    name: str
    version: str
    alias: str
    reason: str
    reused: bool
    markdown: str = ""
    fairness: str = ""  # the model audit's verdict that gated the alias, e.g. "passed: subgroup AUC gap ..."


def _read_json(handle: DatasetHandle, name: str) -> dict[str, Any]:
    path = handle.join(name)
    if not handle.fs.exists(path):
        return {}
    with handle.fs.open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def lock_path(job: RegisterJob) -> Path:
    """The lock file of one registered model: `registry/locks/<name>.lock` beside the alias log."""
    return Path(job.alias_log).parent / "locks" / f"{job.registered_name}.lock"


def register_one(job: RegisterJob) -> RegisterOutcome:
    """Register (or find the registration of) one evaluated model and decide its alias.

    Resumable (see `tasks.register.recovery`): a version of the same training (and weights) left
    unfinished by a killed run is completed, step by step. One registration of a model at a time in
    a workspace (lock file), and one version per training even across workspaces sharing an MLflow
    server."""
    record = read_record(job.model_dir)
    outcome = read_outcome(job.stage_uris["evaluate"])
    with hold(lock_path(job), say=_log.warning):
        return _register(MlflowClient(), job, record, outcome)


def _register(client: MlflowClient, job: RegisterJob, record: TrainRecord, outcome: EvalOutcome) -> RegisterOutcome:
    name = job.registered_name
    verdict = _verdict(outcome)
    found, state, done = _registration(client, job, record, outcome)
    version = str(found[0].version) if found else ""
    if done is not None:
        return done
    if state in ("", CREATED):
        with tempfile.TemporaryDirectory() as papers, resume_run(record.run_id):  # MLflow logs local files
            card, tags, extra, example = _papers(job, record, outcome, Path(papers))
            if not found:
                created = create_version(Path(record.bundle_dir), name, example, {**tags, STATE_TAG: CREATED})
                fault_point("register")
                version = keep_lowest(client, name, record.cache_key, created.version)
                if version != created.version:
                    return RegisterOutcome(
                        name=name,
                        version=version,
                        alias="none",
                        reused=True,
                        fairness=verdict,
                        reason="registered at the same time by another run, which finishes it",
                    )
            document_version(name, version, Path(record.bundle_dir), card, extra)
        set_state(client, name, version, DOCUMENTED)
        state = DOCUMENTED
    if state != DOCUMENTED:
        _log.warning("%s v%s: completing a registration interrupted after state %r", name, version, state)
    cfg = job.evaluate.model_copy(update={"metric": outcome.metric, "higher_is_better": outcome.higher_is_better})
    fairness = outcome.fairness_passed or not job.registry.require_fairness_gates
    decision = finish_alias(
        client,
        name,
        version,
        state,
        lambda: decide_alias(
            client, name, version, outcome.metrics, fairness, outcome.fairness_reason, cfg, job.registry, champion_on_split=outcome.champion_metrics
        ),
        outcome.metrics,
        Path(job.alias_log),
    )
    return RegisterOutcome(
        name=name, version=version, alias=decision.alias, reason=decision.reason, reused=False, markdown=decision.to_markdown(), fairness=verdict
    )


def _verdict(outcome: EvalOutcome) -> str:
    return f"{'passed' if outcome.fairness_passed else 'failed'} ({outcome.fairness_reason})"


def _registration(client: MlflowClient, job: RegisterJob, record: TrainRecord, outcome: EvalOutcome) -> tuple[list[Any], str, RegisterOutcome | None]:
    """The versions of this training (and weights), the state of the lowest, and the outcome when
    that registration is complete (reused), else None."""
    name = job.registered_name
    found = versions_of_training(client, name, record.cache_key, weights_hash(Path(record.bundle_dir)))
    version = str(found[0].version) if found else ""
    state = registration_state(client, name, version, Path(job.alias_log)) if found else ""
    if state != COMPLETE:
        return found, state, None
    aliases = ", ".join(client.get_model_version(name, version).aliases) or "none"
    return (
        found,
        state,
        RegisterOutcome(
            name=name, version=version, alias=aliases, reused=True, reason="already registered from this exact training run", fairness=_verdict(outcome)
        ),
    )


def finished_registration(job: RegisterJob) -> RegisterOutcome | None:
    """The outcome of a complete registration of this exact training (nothing left to do), else None."""
    record = read_record(job.model_dir)
    outcome = read_outcome(job.stage_uris["evaluate"])
    return _registration(MlflowClient(), job, record, outcome)[2]


def _papers(job: RegisterJob, record: TrainRecord, outcome: EvalOutcome, papers: Path) -> tuple[CardInput, dict[str, str], dict[str, Path], pd.DataFrame]:
    """The model card, version tags, extra artifacts (downloaded into `papers`) and the input
    example of one registration."""
    evaluation = DatasetHandle(job.stage_uris["evaluate"])
    clean, audit, tokens = (DatasetHandle(job.stage_uris[s]) for s in ("clean", "audit", "tokens"))
    audit_report = _read_json(audit, "report.json")
    splits = tokens.require_manifest().counters.get("splits", {})  # rows per split, counted at tokenize
    hashes = {
        name: DatasetHandle(uri).require_manifest().content_hash for name, uri in job.stage_uris.items() if DatasetHandle(uri).read_manifest() is not None
    }
    code = code_version("train", "evaluate", "register")  # one figure on the card and the tags
    card = CardInput(
        model_name=job.registered_name,
        kind=job.model.kind,
        pipeline=job.pipeline,
        description=job.description + (f"\n\n{job.registry.description}" if job.registry.description else ""),
        dataset_manifest_hash=hashes.get("clean", ""),
        rows=splits,
        training_params=job.model.model_dump(mode="json"),
        metrics=outcome.metrics,
        group_metrics=group_metric_rows((outcome.model_audit or {}).get("records", [])),
        model_gates=[
            GateResult(
                name="fairness",
                passed=outcome.fairness_passed,
                message=outcome.fairness_reason,
                action="gates champion" if job.registry.require_fairness_gates else "warn",
            )
        ],
        corpus_audit_headline=audit.require_manifest().counters.get("headline", "") if hashes.get("audit") else "",
        corpus_gates=[GateResult.model_validate(g) for g in audit_report.get("gates", [])],
        dataset_uris=[clean.uri, tokens.uri],
        input_manifest_hashes=hashes,
        code_version=code,
        code_version_covers="tasks/common, train, evaluate, register",
    )
    tags = {
        "pipeline": job.pipeline,
        "dataset_manifest_hash": hashes.get("clean", ""),
        "tokens_hash": hashes.get("tokens", ""),
        "audit_hash": hashes.get("audit", ""),
        "code_version": code,
        "eval_cache_key": outcome.cache_key,
        "train_cache_key": record.cache_key,
        **job.registry.tags,
    }
    mitigated = [storage.join(tokens.uri, n) for n in ("audit_mitigated.json", "audit_mitigated.md")]
    first_part = read_part(tokens.part_uris()[0])  # a few raw rows are enough for the signature
    evaluator = evaluator_for(job.model.kind)
    example = evaluator.input_example(first_part.select([c for c in evaluator.input_columns if c in first_part.column_names]).to_pandas())
    extra = {"corpus_audit": storage.download(audit.uri, papers / "audit")} if hashes.get("audit") else {}
    extra["evaluation"] = storage.download(storage.join(evaluation.uri, REPORT_NAME), papers / REPORT_NAME)
    if all(storage.exists(u) for u in mitigated):  # the audit of what the model saw, after mitigation
        for u in mitigated:
            storage.download(u, papers / "mitigated" / posixpath.basename(u))
        extra["corpus_audit_mitigated"] = papers / "mitigated"
    return card, tags, extra, example


@task(name="register-model", cache_policy=NONE)
def register_model_task(job: RegisterJob) -> RegisterOutcome:
    """Prefect wrapper of `register_one`."""
    return register_one(job)
