"""Prefect tasks of batch scoring: resolve the alias, list new partitions, score one partition."""

from __future__ import annotations

from datetime import datetime, UTC

import mlflow
from mlflow import MlflowClient
from prefect import task
from prefect.cache_policies import NONE

from tasks.common.retry import storage_task_options
from tasks.score.incremental import (
    ScoredPartition,
    ScoresManifest,
    list_partitions,
    pending_partitions,
    score_partition,
    update_scores_manifest,
    write_input_partition,
)
from tasks.score.recommendations import is_event_partition, score_window


@task(name="resolve-model-version", cache_policy=NONE)
def resolve_version_task(model_name: str, alias: str) -> str:
    """The registered version that `alias` points to now (error if the alias is not set)."""
    return str(MlflowClient().get_model_version_by_alias(model_name, alias).version)


@task(name="list-pending-partitions", cache_policy=NONE)
def pending_partitions_task(input_uri: str, output_uri: str, model_version: str) -> list[str]:
    """Input partitions with no output for this model version."""
    return pending_partitions(input_uri, output_uri, model_version)


@task(name="score-partition", cache_policy=NONE, **storage_task_options())
def score_partition_task(model_name: str, model_version: str, input_uri: str, partition: str, output_uri: str, batch_rows: int) -> ScoredPartition:
    """Load the registered pyfunc and score one input partition into one output partition
    (a window of interaction events: the users active in it, `recommendations.py`)."""
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/{model_version}")
    if is_event_partition(input_uri, partition):
        predictor = model.unwrap_python_model().predictor
        return score_window(predictor, input_uri, partition, output_uri, model_name, model_version)
    return score_partition(model.predict, input_uri, partition, output_uri, model_name, model_version, batch_rows)


@task(name="update-scores-manifest", cache_policy=NONE)
def update_manifest_task(output_uri: str, model_name: str) -> ScoresManifest:
    """Re-index the scores folder after new partitions were written."""
    return update_scores_manifest(output_uri, model_name)


@task(name="seed-demo-input", cache_policy=NONE)
def seed_demo_input_task(app: str, input_uri: str, rows: int, seed: int) -> str | None:
    """Drop one synthetic demo partition into an EMPTY input folder (demo pipelines only)."""
    if list_partitions(input_uri):
        return None
    from tasks.ingest.demo import demo_inbox

    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return write_input_partition(input_uri, f"demo-{day}.parquet", demo_inbox(app, rows, seed))
