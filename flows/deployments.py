"""Deployments declared by pipelines.yaml: the full pipeline on demand, the scoring flows on cron."""
from __future__ import annotations

from typing import Any

from corpusmill.config import CorpusmillConfig
from flows.corpus_to_model import corpus_to_model_flow
from flows.score_recommendations import score_recommendations_flow
from flows.score_summaries import score_summaries_flow


def build_deployments(config: CorpusmillConfig, config_path: str, workspace: str) -> list[Any]:
    """One `corpus-to-model/<pipeline>` deployment per pipeline (triggered from the UI with
    parameters) and one scheduled deployment per configured scoring application."""
    deployments = []
    for name, pipeline in config.pipelines.items():
        params = {"pipeline": name, "config_path": config_path, "workspace": workspace}
        deployments.append(corpus_to_model_flow.to_deployment(
            name=name, parameters=params, tags=["corpusmill", name],
            description=pipeline.description or f"ingest -> register for pipeline {name}",
        ))
        for app_name, flow in (("recommendations", score_recommendations_flow),
                               ("summaries", score_summaries_flow)):
            app = getattr(pipeline.applications, app_name)
            if app is None:
                continue
            deployments.append(flow.to_deployment(
                name=name, parameters=params, cron=app.schedule, tags=["corpusmill", name, app_name],
                description=f"score new {app_name} input of {name} with {pipeline.registered_name(app.model)}@{app.alias}",
            ))
    return deployments
