"""Scheduled batch scoring for summarization: documents -> summaries."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import artifact_key
from flows.scoring import score_application
from tasks.score.summaries import summaries_artifact_task


@flow(name="score-summaries", log_prints=True)
def score_summaries_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Summarise new partitions of documents with `models:/<pipeline>-<model>@<alias>`; publish a
    `<pipeline>-summaries-scoring` table artifact (rows, documents, model version, output path)."""
    result = score_application("summaries", pipeline, config_path, workspace)
    result["report"] = summaries_artifact_task(pipeline, result, artifact_key(pipeline, "summaries", "scoring"))
    return result
