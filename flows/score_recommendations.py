"""Scheduled batch scoring for recommendations: users' histories -> top-k items."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.scoring import score_application


@flow(name="score-recommendations", log_prints=True)
def score_recommendations_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Score new partitions (windows of interaction events, or rows of user histories) with
    `models:/<pipeline>-<model>@<alias>`; a Markdown artifact tells what was scored."""
    return score_application("recommendations", pipeline, config_path, workspace)
