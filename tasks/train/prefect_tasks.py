"""Prefect task of the train stage: one model, from the tokens dataset to a saved bundle + MLflow run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mlflow
from prefect import task
from prefect.cache_policies import NONE
from tokenizers import Tokenizer

from tasks.common import storage
from tasks.common.dataset import DatasetHandle, stable_hash
from tasks.common.stage import WorkUnit
from tasks.common.tracking import ensure_experiment, flatten_params, training_run
from tasks.common.version import code_version
from tasks.train.bundle import bundle_intact, save_bundle
from tasks.train.kinds import ModelConfig, get_kind
from tasks.train.record import RECORD_NAME, ModelJob, TrainRecord
from tasks.train.run_log import last_logged_steps, log_dataset_input, metrics_logger, run_logger
from tasks.train.trainer import train_model


class TrainJob(ModelJob):
    """Everything one training task needs, by value or by path. `pretrained_key`: the cache key of
    the in-pipeline LM whose bundle `model.pretrained_lm` points to (part of this job's key)."""

    experiment: str
    artifact_root: str
    pretrained_key: str | None = None
    resume: bool = True
    config_file: str | None = None  # the run's config snapshot, logged as an MLflow artifact
    config_sha256: str | None = None


def training_order(models: dict[str, ModelConfig]) -> list[str]:
    """Model names in config order, except that a model named by another's `pretrained_lm` comes
    first (the config validates that it is an `lstm_lm`, which has no `pretrained_lm` itself)."""
    referenced = {getattr(m, "pretrained_lm", None) for m in models.values()} & set(models)
    return [n for n in models if n in referenced] + [n for n in models if n not in referenced]


def with_pretrained_lm(job: TrainJob, trained: dict[str, TrainRecord]) -> TrainJob:
    """`job` with `pretrained_lm: <model name>` replaced by that model's trained bundle folder
    (and its cache key recorded); a folder path, or no pretrained LM, is left as it is."""
    ref = getattr(job.model, "pretrained_lm", None)
    if ref not in trained:
        return job
    model = job.model.model_copy(update={"pretrained_lm": trained[ref].bundle_dir})
    return job.model_copy(update={"model": model, "pretrained_key": trained[ref].cache_key})


def _tokens_hash_and_tokenizer(tokens: DatasetHandle) -> tuple[str, str]:
    manifest = tokens.verified_manifest()  # a tampered tokens part is refused, naming the file
    return manifest.content_hash, storage.join(tokens.uri, "tokenizer.json")


def train_cache_key(job: TrainJob, tokens_hash: str) -> str:
    """The key of a training: tokens hash + model config + code version + pretrained LM's key."""
    return stable_hash({"tokens": tokens_hash, "model": job.model.model_dump(mode="json"), "code": code_version("train"), "pretrained": job.pretrained_key})


def reusable_record(job: TrainJob, key: str) -> TrainRecord | None:
    """The model's `train_record.json` when it holds cache key `key` and the bundle's files match
    their recorded sha256 (a damaged bundle is a warning: `retraining <name>`); else None."""
    record_path = Path(job.model_dir) / RECORD_NAME
    if not record_path.exists():
        return None
    record = TrainRecord.model_validate_json(record_path.read_text())
    if record.cache_key == key and bundle_intact(Path(record.bundle_dir), f"retraining {job.registered_name}"):
        return record
    return None


def train_unit(job: TrainJob) -> WorkUnit[TrainJob, TrainRecord]:
    """The unit of one training: its cache key from the verified tokens (IntegrityError when damaged);
    reusable when `reusable_record` finds the finished training and its bundle intact."""
    key = train_cache_key(job, _tokens_hash_and_tokenizer(DatasetHandle(job.tokens_uri))[0])
    return WorkUnit(job=job, key=key, find=reusable_record)


def train_one(job: TrainJob) -> TrainRecord:
    """Train (or reuse) one model: read tokens, prepare, train with checkpoints, save the bundle.

    Reused when `train_record.json` holds the same cache key (tokens hash + model config + code)
    and the bundle's files match their recorded sha256 (else retrained, with a warning).
    An interrupted training resumes from its last checkpoint (checkpoints are keyed the same way),
    or, with `job.resume` false, deletes it and starts over.
    """
    tokens = DatasetHandle(job.tokens_uri)
    tokens_hash, tokenizer_path = _tokens_hash_and_tokenizer(tokens)
    key = train_cache_key(job, tokens_hash)
    model_dir = Path(job.model_dir)
    record_path = model_dir / RECORD_NAME
    if (record := reusable_record(job, key)) is not None:
        return record
    tokenizer = Tokenizer.from_str(storage.read_text(tokenizer_path))
    kind = get_kind(job.model.kind)
    prepared = kind.prepare(tokens.read_table(), tokenizer, job.model)
    prepared = kind.training_examples(prepared, job.model, model_dir / "teacher")  # e.g. distillation targets, cached
    checkpoints = model_dir / "checkpoints" / key
    for stale in (model_dir / "checkpoints").glob("*"):
        if stale != checkpoints or not job.resume:
            shutil.rmtree(stale, ignore_errors=True)
    mlflow.set_experiment(experiment_id=ensure_experiment(job.experiment, Path(job.artifact_root)))
    tokenizer_hash = stable_hash(tokenizer.to_str())
    with training_run(checkpoints, job.registered_name) as run:  # a resumed training logs into the same run
        mlflow.set_tags(
            {
                "pipeline": job.pipeline,
                "model": job.model_name,
                "kind": job.model.kind,
                "dataset.tokens_hash": tokens_hash,
                "tokenizer_hash": tokenizer_hash,
                "code_version": code_version("train"),
                "cache_key": key,
            }
        )
        if job.pretrained_key is not None:  # lineage of a ULMFiT start: the LM bundle and its training
            mlflow.set_tags({"pretrained_lm.bundle": str(getattr(job.model, "pretrained_lm", "")), "pretrained_lm.cache_key": job.pretrained_key})
        run_logger().info("training %s: MLflow run %s (experiment %s)", job.registered_name, run.info.run_id, run.info.experiment_id)
        log_dataset_input(tokens.uri, f"{job.pipeline}/tokens", tokens_hash)
        mlflow.log_params(flatten_params(job.model.model_dump(mode="json")))
        if job.config_file and Path(job.config_file).is_file():  # the exact config this run used
            mlflow.log_artifact(job.config_file, artifact_path="config")
            mlflow.set_tag("config_sha256", job.config_sha256 or "")
        mlflow.log_params(
            {
                "data.train_examples": len(prepared.splits.get("train", [])),
                "data.validation_examples": len(prepared.splits.get("validation", [])),
                "data.test_examples": len(prepared.splits.get("test", [])),
            }
        )
        if "distill" in prepared.meta:  # the teacher's figures (validation/test accuracy, seconds, augmented rows)
            mlflow.log_metrics({f"distill.{k}": float(v) for k, v in prepared.meta["distill"].items()})
        result = train_model(
            kind,
            job.model,
            prepared,
            tokenizer.get_vocab_size(),
            checkpoints,
            resume=job.resume,
            log_metrics=metrics_logger(job.model_name, logged_upto=last_logged_steps(run.info.run_id)),
        )
        chosen = kind.finalize(result.model, prepared, job.model)  # e.g. the summary length, on validation
        mlflow.log_params({f"chosen.{k}": json.dumps(v) for k, v in chosen.items()})
        bundle = save_bundle(model_dir / "bundle", kind.name, job.model, result.model, prepared.meta | chosen, tokenizer)
        mlflow.log_metrics({f"best_val_{k}": float(v) for k, v in result.best_metrics.items()})
        curve = checkpoints / "learning_curve.png"
        if curve.exists():
            mlflow.log_artifact(str(curve), artifact_path="plots")
        (checkpoints / "history.json").write_text(json.dumps(result.history, indent=2, default=float))
        mlflow.log_artifact(str(checkpoints / "history.json"))
    record = TrainRecord(
        cache_key=key,
        run_id=run.info.run_id,
        bundle_dir=str(bundle),
        kind=kind.name,
        best_metrics={k: float(v) for k, v in result.best_metrics.items()},
        best_epoch=result.best_epoch,
        steps=result.steps,
        tokens_per_s=float(result.tokens_per_s),
        tokens_hash=tokens_hash,
        tokenizer_hash=tokenizer_hash,
    )
    storage.write_text(str(record_path), record.model_dump_json(indent=2))
    return record


@task(name="train-model", cache_policy=NONE)
def train_model_task(job: TrainJob) -> TrainRecord:
    """Prefect wrapper of `train_one`."""
    return train_one(job)


def record_summary(record: TrainRecord) -> dict[str, Any]:
    """The small dict the train flow returns per model."""
    return {
        "run_id": record.run_id,
        "bundle": record.bundle_dir,
        "best_epoch": record.best_epoch,
        "best_val": record.best_metrics,
        "tokens_per_s": round(record.tokens_per_s, 1),
    }
