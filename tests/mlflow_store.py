"""Point MLflow at a test's own tracking store, and put back exactly what was there after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from mlflow.tracking._tracking_service import utils as tracking_utils


@contextmanager
def tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's tracking URI (API and MLFLOW_TRACKING_URI) is `uri` inside the block; after it, both
    are restored as they were, unset included: `set_tracking_uri(get_tracking_uri())` would pin the
    resolved default (and export it) for every later test of the session."""
    previous, previous_env = tracking_utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # None: unset again (and the variable removed)
        if previous_env is not None:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env
