"""Scheduled batch scoring for summarization: documents -> summaries."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.scoring import score_application


@flow(name="score-summaries", log_prints=True)
def score_summaries_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Summarise new partitions of documents with `models:/<pipeline>-<model>@<alias>`."""
    return score_application("summaries", pipeline, config_path, workspace)
