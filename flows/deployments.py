"""Deployments declared by pipelines.yaml: the full pipeline on demand, the scoring flows on cron."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from corpusmill.config import CorpusmillConfig
from flows.corpus_to_model import corpus_to_model_flow
from tasks.score.applications import APPLICATIONS


def build_deployments(config: CorpusmillConfig, config_path: str, workspace: str, source: str | None = None) -> list[Any]:
    """One `corpus-to-model/<pipeline>` deployment per pipeline (triggered from the UI with
    parameters) and one scheduled deployment per configured scoring application. With `source`
    (the repository folder) the flows are loaded from there, as a work pool's worker needs."""
    if source is not None:
        return [_from_source(d, source) for d in build_deployments(config, config_path, workspace)]
    deployments = []
    for name, pipeline in config.pipelines.items():
        params = {"pipeline": name, "config_path": config_path, "workspace": workspace}
        deployments.append(
            corpus_to_model_flow.to_deployment(
                name=name, parameters=params, tags=["corpusmill", name], description=pipeline.description or f"ingest -> register for pipeline {name}"
            )
        )
        for app_name, app in pipeline.applications.items():
            deployments.append(
                APPLICATIONS[app_name]
                .load_flow()
                .to_deployment(
                    name=name,
                    parameters=params,
                    cron=app.schedule,
                    tags=["corpusmill", name, app_name],
                    description=f"score new {app_name} input of {name} with {pipeline.registered_name(app.model)}@{app.alias}",
                )
            )
    return deployments


def _from_source(deployment: Any, source: str) -> Any:
    """The same deployment with its flow loaded from `source` (a folder: the worker runs it there)."""
    flows = [corpus_to_model_flow, *(app.load_flow() for app in APPLICATIONS.values())]
    flow = {f.name: f for f in flows}[deployment.flow_name]
    entrypoint = f"{Path(inspect.getfile(flow.fn)).resolve().relative_to(Path(source).resolve()).as_posix()}:{flow.fn.__name__}"
    return flow.from_source(source=source, entrypoint=entrypoint).to_deployment(
        name=deployment.name, parameters=deployment.parameters, tags=deployment.tags, description=deployment.description, schedules=deployment.schedules
    )
