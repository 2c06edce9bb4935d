"""Plain types shared by the per-model stages (train, evaluate, register), with no Prefect import:
the job every per-model task is given and the record a finished training leaves in its folder."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from tasks.train.kinds import ModelConfig

RECORD_NAME = "train_record.json"


class ModelJob(BaseModel):
    """What every per-model task (train, evaluate) is given: the model, its data and its folder."""

    pipeline: str
    model_name: str
    registered_name: str
    model: ModelConfig
    tokens_uri: str
    model_dir: str


class TrainRecord(BaseModel):
    """What a finished training left: its cache key, MLflow run, bundle and metrics."""

    cache_key: str
    run_id: str
    bundle_dir: str
    kind: str
    best_metrics: dict[str, float]
    best_epoch: int | None
    steps: int
    tokens_per_s: float
    tokens_hash: str
    tokenizer_hash: str


def read_record(model_dir: str | Path) -> TrainRecord:
    """A model folder -> the `TrainRecord` its training wrote there (`train_record.json`)."""
    return TrainRecord.model_validate_json((Path(model_dir) / RECORD_NAME).read_text())
