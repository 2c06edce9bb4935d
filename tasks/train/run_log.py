"""What a training run tells people while it runs: epoch lines in the Prefect run log, metrics in
MLflow, and the datasets it read as MLflow dataset inputs (the runs table's "Dataset" column)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import mlflow

from tasks.train.trainer import LogFn

_log = logging.getLogger("corpusmill.train")


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a flow or task run (lines show in the Prefect UI), else a plain
    `corpusmill.train` logger."""
    try:
        from prefect import get_run_logger
        from prefect.exceptions import MissingContextError

        try:
            return get_run_logger()
        except MissingContextError:
            return _log
    except ImportError:  # pragma: no cover - prefect is a dependency
        return _log


def epoch_line(name: str, epoch: int, metrics: dict[str, float]) -> str:
    """One human line per finished epoch, e.g. `sentiment epoch 2: train_loss=0.41 val_accuracy=0.88`."""
    named = {
        ("train_loss" if key == "epoch_train_loss" else key): value for key, value in metrics.items() if key != "train_loss"
    }  # the epoch's mean loss (its MLflow key is epoch_train_loss)
    shown = " ".join(f"{key}={value:.4g}" for key, value in named.items())
    return f"{name} epoch {epoch}: {shown}"


def metrics_logger(name: str, log: Callable[[dict[str, float], int], None] | None = None, logged_upto: Callable[[str], int] | None = None) -> LogFn:
    """The trainer's `log_metrics` callback: every call goes to MLflow (`mlflow.log_metrics`, or
    `log`); per-epoch calls (those with `epoch_train_loss`) also write an epoch line to the run logger.
    With `logged_upto` (metric key -> last step the run already holds, see `last_logged_steps`), a
    metric at a step the run already has is not sent again: a resumed training replays the steps
    after its last checkpoint (to the same values), which the interrupted attempt may have logged."""
    send = log or (lambda metrics, step: mlflow.log_metrics(metrics, step=step))

    def log_metrics(metrics: dict[str, float], step: int) -> None:
        fresh = metrics if logged_upto is None else {k: v for k, v in metrics.items() if step > logged_upto(k)}
        if fresh:
            send(fresh, step)
        if "epoch_train_loss" in metrics:
            run_logger().info(epoch_line(name, step, metrics))

    return log_metrics


def last_logged_steps(run_id: str) -> Callable[[str], int]:
    """Metric key -> the last step MLflow run `run_id` holds for it (-1 when none); one query per
    key, on first use."""
    client = mlflow.MlflowClient()
    last: dict[str, int] = {}

    def upto(key: str) -> int:
        if key not in last:
            last[key] = max((m.step for m in client.get_metric_history(run_id, key)), default=-1)
        return last[key]

    return upto


def log_dataset_input(uri: str, name: str, digest: str, context: str = "training") -> None:
    """Record a dataset folder read by the active MLflow run: `name`, `digest` (its manifest's
    content hash) and `uri` as the source (local path or fsspec URL such as s3://...)."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    with warnings.catch_warnings():  # "can be interpreted in multiple ways": both are the local source
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(uri)
    dataset = MetaDataset(source=source, name=name, digest=digest[:36])
    mlflow.log_input(dataset, context=context)
