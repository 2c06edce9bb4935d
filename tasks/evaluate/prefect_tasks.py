"""Prefect task of the evaluate stage: one model on the held-out test split, vs the champion.

Classifiers: metrics, plots, per-group model audit, counterfactual probe and the champion re-scored
on the same rows. Other kinds: the kind's own test metrics, compared with the champion's stored ones.
Writes `<data>/<pipeline>/evaluate/<model>/` (predictions or metrics Parquet + report.json).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from mlflow import MlflowClient
from prefect import task
from prefect.cache_policies import NONE
from pydantic import BaseModel

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import memberships
from tasks.audit.model_audit import counterfactual_probe, model_audit, model_gate
from tasks.audit.pair_probe import PairProbeConfig, load_crows_pairs, load_winobias_pairs, pair_probe
from tasks.audit.probe_gate import choose_probe_languages, language_shares
from tasks.common import storage
from tasks.common.dataset import DatasetHandle, stable_hash
from tasks.common.stage import reusable_manifest
from tasks.common.tracking import resume_run
from tasks.common.version import code_version
from tasks.evaluate.baselines import run_baseline
from tasks.evaluate.classifier import evaluate_classifier
from tasks.evaluate.compare import proba_matrix
from tasks.evaluate.config import EvaluateConfig
from tasks.evaluate.summarizer import evaluate_summarizer
from tasks.register.aliases import alias_version, champion_metrics, load_champion
from tasks.train.bundle import load_bundle, load_predictor, weights_hash
from tasks.train.device import select_device
from tasks.train.kinds import get_kind
from tasks.train.prefect_tasks import RECORD_NAME, ModelJob, TrainRecord
from tasks.train.trainer import evaluate_examples


class EvalJob(ModelJob):
    """Everything one evaluation needs, by value or by path."""

    out_uri: str
    evaluate: EvaluateConfig
    audit: AuditConfig
    alias_champion: str = "champion"


class EvalOutcome(BaseModel):
    """The evaluation's verdict inputs for the register stage."""

    cache_key: str
    run_id: str
    metrics: dict[str, float]
    metric: str
    higher_is_better: bool
    champion_version: str | None = None
    champion_metrics: dict[str, float] | None = None
    fairness_passed: bool = True
    fairness_reason: str = ""
    model_audit: dict[str, Any] | None = None
    probe: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None  # name, params, its own test metrics (see tasks/evaluate/baselines.py)


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


def run_pair_probes(predict_proba, cfg: AuditConfig) -> dict[str, Any]:
    """Score the configured WinoBias / CrowS-Pairs minimal pairs; one report per probe set."""
    loaders = {"crows_pairs": load_crows_pairs, "winobias": load_winobias_pairs}
    probe_cfg = PairProbeConfig(bootstrap=cfg.model.bootstrap, seed=cfg.model.seed, confidence=cfg.confidence)
    return {name: pair_probe(predict_proba, loaders[name](path), probe_cfg).model_dump(mode="json")
            for name, path in cfg.model.pair_probes.items()}


def _classifier(job: EvalJob, bundle_dir: str, test: pa.Table, plot_dir: Path, champion: str | None,
                corpus_texts: list[str] | None = None) -> dict[str, Any]:
    predictor = load_predictor(Path(bundle_dir))
    ev = evaluate_classifier(predictor, test, job.evaluate, plot_dir)
    labels = ev.report.labels
    positive = labels[-1]
    preds = ev.predictions
    frame = pd.DataFrame({"id": preds["id"].astype(str), "y_true": test.filter(pc.is_valid(test["label"]))["label"].to_pylist(),
                          "y_pred": preds["label"], "y_score": preds[f"prob_{positive}"]})
    groups = memberships(test, job.audit)
    audit_report = model_audit(frame, groups, job.audit)
    shares = language_shares(corpus_texts if corpus_texts is not None else test["text"].to_pylist())
    languages = choose_probe_languages(shares, job.audit.model.templates, job.audit.model.probe_languages,
                                       job.audit.model.min_language_share)
    probe = counterfactual_probe(lambda texts: proba_matrix(predictor.predict(pd.DataFrame({"text": texts})), labels),
                                 job.audit, languages=languages)
    probe.language_shares = shares
    passed, reason = model_gate(audit_report, probe, job.audit)
    pairs = run_pair_probes(lambda texts: proba_matrix(predictor.predict(pd.DataFrame({"text": texts})), labels),
                            job.audit)
    champion_on_split = None
    if champion is not None and (model := load_champion(job.registered_name, job.alias_champion)) is not None:
        champion_on_split = evaluate_classifier(model, test, job.evaluate).metrics
    return {"metrics": ev.metrics, "predictions": pa.Table.from_pandas(frame, preserve_index=False),
            "passed": passed, "reason": reason, "champion": champion_on_split,
            "model_audit": audit_report.model_dump(mode="json"),
            "probe": {**probe.model_dump(mode="json"), "pair_probes": pairs},
            "plots": list(ev.plots.values())}


def _other_kind(job: EvalJob, bundle_dir: str, tokens: pa.Table, champion: str | None, metric: str) -> dict[str, Any]:
    bundle = load_bundle(Path(bundle_dir))
    kind = get_kind(job.model.kind)
    prepared = kind.prepare(tokens, bundle.tokenizer, job.model)
    device = select_device(job.model.train.device)
    metrics = evaluate_examples(kind, bundle.model.to(device), prepared.splits["test"], job.model.train, device)
    stored = champion_metrics(MlflowClient(), job.registered_name, metric, job.alias_champion) if champion else None
    table = pa.table({"metric": list(metrics), "value": [float(v) for v in metrics.values()]})
    return {"metrics": metrics, "predictions": table, "passed": True,
            "reason": f"no group fairness audit for kind {job.model.kind}", "champion": stored,
            "model_audit": None, "probe": None, "plots": []}


def _recommender(job: EvalJob, bundle_dir: str, tokens: pa.Table, plot_dir: Path, champion: str | None, metric: str) -> dict[str, Any]:
    from tasks.evaluate.recommender import evaluate_recommender

    bundle = load_bundle(Path(bundle_dir))
    prepared = get_kind(job.model.kind).prepare(tokens, bundle.tokenizer, job.model)
    model = bundle.model.to(select_device(job.model.train.device))
    result = evaluate_recommender(model, prepared.splits["test"], prepared.meta, job.evaluate.exposure, plot_dir)
    stored = champion_metrics(MlflowClient(), job.registered_name, metric, job.alias_champion) if champion else None
    return {"metrics": result["metrics"], "predictions": result["predictions"], "passed": result["passed"],
            "reason": result["reason"], "champion": stored, "model_audit": result["report"], "probe": None,
            "plots": result["files"]}


def evaluation_key(job: EvalJob) -> tuple[str, TrainRecord, str | None]:
    """The cache key of one evaluation (training key, evaluate/audit config, champion version, code,
    weights), with the training record and the champion version it was computed from."""
    record = TrainRecord.model_validate_json((Path(job.model_dir) / RECORD_NAME).read_text())
    champion = _champion_version(job.registered_name, job.alias_champion, record.cache_key)
    key = stable_hash({"train": record.cache_key, "evaluate": job.evaluate.model_dump(), "audit": job.audit.model_dump(),
                       "champion": champion, "code": code_version("evaluate", "audit"),
                       "weights": weights_hash(Path(record.bundle_dir))})
    return key, record, champion


def reusable_evaluation(job: EvalJob, key: str) -> EvalOutcome | None:
    """The stored outcome when the evaluation under `key` is finished and intact, else None."""
    out = DatasetHandle(job.out_uri)
    if reusable_manifest(out, key, f"evaluate/{job.model_name}") is None:
        return None
    with out.fs.open(out.join("report.json"), "r") as handle:
        return EvalOutcome.model_validate_json(handle.read())


def evaluate_one(job: EvalJob) -> EvalOutcome:
    """Evaluate (or reuse the evaluation of) one trained model; log test metrics to its MLflow run."""
    started = time.time()
    key, record, champion = evaluation_key(job)
    out = DatasetHandle(job.out_uri)
    if (done := reusable_evaluation(job, key)) is not None:
        return done
    kind = get_kind(job.model.kind)
    metric, higher = job.evaluate.metric, job.evaluate.higher_is_better
    tokens = DatasetHandle(job.tokens_uri).read_table()
    test = tokens.filter(pc.equal(tokens["split"], "test"))
    scratch = tempfile.TemporaryDirectory(prefix="corpusmill-eval-")  # plots drawn here, then uploaded
    plot_dir = Path(scratch.name) / "plots"
    if job.model.kind == "lstm_classifier":
        result = _classifier(job, record.bundle_dir, test, plot_dir, champion, tokens["text"].to_pylist())
    elif job.model.kind == "lstm_recommender":
        result = _recommender(job, record.bundle_dir, tokens, plot_dir, champion, metric)
    elif job.model.kind == "lstm_summarizer":  # rouge-score vs Lead-3/oracle + identity-swap check
        result = evaluate_summarizer(record.bundle_dir, job.model, tokens, job.audit)
        result["champion"] = champion_metrics(MlflowClient(), job.registered_name, metric, job.alias_champion) if champion else None
    else:
        result = _other_kind(job, record.bundle_dir, tokens, champion, metric)
    metrics = {k: float(v) for k, v in result["metrics"].items() if v is not None}
    baseline, baseline_gains = run_baseline(job.model, job.evaluate, tokens, record.bundle_dir, metrics)
    metrics.update(baseline_gains)
    if metric not in metrics:  # e.g. macro_f1 asked of a recommender: use the kind's own metric
        metric, higher = kind.monitor, kind.mode == "max"
    outcome = EvalOutcome(cache_key=key, run_id=record.run_id, metrics=metrics, metric=metric, higher_is_better=higher,
                          champion_version=champion, champion_metrics=result["champion"],
                          fairness_passed=result["passed"], fairness_reason=result["reason"],
                          model_audit=result["model_audit"], probe=result["probe"], baseline=baseline)
    report_file = Path(scratch.name) / "report.json"
    report_file.write_text(outcome.model_dump_json(indent=2))
    out.write_atomic_bytes(out.work_file(key, "report.json"), report_file.read_bytes())
    part = out.write_part(key, "part-00000.parquet", [result["predictions"]])
    with resume_run(record.run_id):
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(report_file), artifact_path="evaluation")
        _log_group_table(record.run_id, result["model_audit"])
        for plot in result["plots"]:
            mlflow.log_artifact(str(plot), artifact_path="plots")
    files = ["report.json"] + [f"plots/{n}" for n in storage.upload_dir(plot_dir, out.work_uri(key, "plots"))]
    scratch.cleanup()
    out.commit(stage="evaluate", key=key, parts=[part], inputs=[DatasetHandle(job.tokens_uri).input_ref()],
               config_hash=stable_hash(job.evaluate.model_dump()), code_version=code_version("evaluate", "audit"),
               started=started, counters={"metrics": metrics, "metric": metric}, extra_files=files)
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
