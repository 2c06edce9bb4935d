"""Prefect task of the evaluate stage: one model on the held-out test split, vs the champion.

The kind's evaluator (`tasks/evaluate/kinds.py`) scores the model: classifiers get metrics, plots,
the per-group model audit, probes and the champion re-scored on the same rows; other kinds their
own test metrics, compared with the champion's stored ones. The evaluator's baseline, if any, is
scored on the same rows. Writes `<data>/<pipeline>/evaluate/<model>/` (predictions or metrics
Parquet + report.json).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from prefect import task
from prefect.cache_policies import NONE

from tasks.common import storage
from tasks.common.dataset import DatasetHandle, stable_hash
from tasks.common.stage import reusable_manifest
from tasks.common.tracking import resume_run
from tasks.common.version import code_version
from tasks.evaluate.baselines import gains
from tasks.evaluate.evaluator import EvalContext
from tasks.evaluate.kinds import evaluator_for
from tasks.evaluate.outcome import REPORT_NAME, EvalJob, EvalOutcome
from tasks.register.aliases import alias_version, champion_metrics
from tasks.train.bundle import weights_hash
from tasks.train.kinds import promotion_metric
from tasks.train.record import TrainRecord, read_record

__all__ = ["EvalJob", "EvalOutcome", "evaluate_model_task", "evaluate_one", "evaluation_key", "reusable_evaluation"]


def _champion_version(name: str, alias: str, train_key: str) -> str | None:
    """The champion's version, or None when there is none or it is this very training run."""
    client = MlflowClient()
    try:
        version = alias_version(client, name, alias)
        if version is None:
            return None
        tags = client.get_model_version(name, version).tags
    except mlflow.exceptions.MlflowException:
        return None
    return None if tags.get("train_cache_key") == train_key else version


def evaluation_key(job: EvalJob) -> tuple[str, TrainRecord, str | None]:
    """The cache key of one evaluation (training key, evaluate/audit config, champion version, code,
    weights), with the training record and the champion version it was computed from."""
    record = read_record(job.model_dir)
    champion = _champion_version(job.registered_name, job.alias_champion, record.cache_key)
    key = stable_hash(
        {
            "train": record.cache_key,
            "evaluate": job.evaluate.model_dump(),
            "audit": job.audit.model_dump(),
            "champion": champion,
            "code": code_version("evaluate", "audit"),
            "weights": weights_hash(Path(record.bundle_dir)),
        }
    )
    return key, record, champion


def reusable_evaluation(job: EvalJob, key: str) -> EvalOutcome | None:
    """The stored outcome when the evaluation under `key` is finished and intact, else None."""
    out = DatasetHandle(job.out_uri)
    if reusable_manifest(out, key, f"evaluate/{job.model_name}") is None:
        return None
    with out.fs.open(out.join(REPORT_NAME), "r") as handle:
        return EvalOutcome.model_validate_json(handle.read())


def evaluate_one(job: EvalJob) -> EvalOutcome:
    """Evaluate (or reuse the evaluation of) one trained model; log test metrics to its MLflow run."""
    started = time.time()
    key, record, champion = evaluation_key(job)
    out = DatasetHandle(job.out_uri)
    if (done := reusable_evaluation(job, key)) is not None:
        return done
    metric, higher = promotion_metric(job.model.kind, job.evaluate)  # the config refused a metric the kind lacks
    scratch = tempfile.TemporaryDirectory(prefix="corpusmill-eval-")  # plots drawn here, then uploaded
    plot_dir = Path(scratch.name) / "plots"
    ctx = EvalContext(job=job, record=record, tokens=DatasetHandle(job.tokens_uri).read_table(), plot_dir=plot_dir, champion=champion)
    evaluator = evaluator_for(job.model.kind)
    result = evaluator.evaluate(ctx)
    if not result.champion_rescored:  # compare with the champion's stored test metrics
        result.champion = champion_metrics(MlflowClient(), job.registered_name, metric, job.alias_champion) if champion else None
    metrics = {k: float(v) for k, v in result.metrics.items() if v is not None}
    found = evaluator.baseline(ctx) if job.evaluate.baseline != "none" else None
    baseline = found.model_dump(mode="json", exclude={"test_ids"}) if found is not None else None
    metrics.update(gains(metrics, found.metrics) if found is not None else {})
    outcome = EvalOutcome(
        cache_key=key,
        run_id=record.run_id,
        metrics=metrics,
        metric=metric,
        higher_is_better=higher,
        champion_version=champion,
        champion_metrics=result.champion,
        fairness_passed=result.passed,
        fairness_reason=result.reason,
        model_audit=result.model_audit,
        probe=result.probe,
        baseline=baseline,
    )
    report_file = Path(scratch.name) / REPORT_NAME
    report_file.write_text(outcome.model_dump_json(indent=2))
    out.write_atomic_bytes(out.work_file(key, REPORT_NAME), report_file.read_bytes())
    part = out.write_part(key, "part-00000.parquet", [result.predictions])
    with resume_run(record.run_id):
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(report_file), artifact_path="evaluation")
        _log_group_table(record.run_id, result.model_audit)
        for plot in result.plots:
            mlflow.log_artifact(str(plot), artifact_path="plots")
    files = [REPORT_NAME] + [f"plots/{n}" for n in storage.upload_dir(plot_dir, out.work_uri(key, "plots"))]
    scratch.cleanup()
    out.commit(
        stage="evaluate",
        key=key,
        parts=[part],
        inputs=[DatasetHandle(job.tokens_uri).input_ref()],
        config_hash=stable_hash(job.evaluate.model_dump()),
        code_version=code_version("evaluate", "audit"),
        started=started,
        counters={"metrics": metrics, "metric": metric},
        extra_files=files,
    )
    return outcome


def _log_group_table(run_id: str, model_audit: dict[str, Any] | None) -> None:
    """The per-group model audit as an MLflow table (`evaluation/group_metrics.json`) in the active
    run, once: `log_table` appends to an existing file, and the figures depend only on the model
    and its test split, which a run does not change."""
    if not model_audit or not model_audit.get("records"):
        return
    if any(a.path == "evaluation/group_metrics.json" for a in MlflowClient().list_artifacts(run_id, "evaluation")):
        return
    mlflow.log_table(pd.DataFrame(model_audit["records"]), "evaluation/group_metrics.json")


@task(name="evaluate-model", cache_policy=NONE)
def evaluate_model_task(job: EvalJob) -> EvalOutcome:
    """Prefect wrapper of `evaluate_one`."""
    return evaluate_one(job)
