"""The main job: ingest -> clean -> audit -> tokenize -> train -> evaluate -> register, one subflow per stage."""
from __future__ import annotations

from typing import Any

from prefect import flow

from flows.audit import audit_flow
from flows.clean import clean_flow
from flows.evaluate import evaluate_flow
from flows.ingest import ingest_flow
from flows.register import register_flow
from flows.runtime import RunContext, make_task_runner
from flows.tokenize import tokenize_flow
from flows.train import train_flow
from tasks.common.tracking import end_orphaned_runs

STAGE_FLOWS = (
    ("ingest", "raw", ingest_flow),
    ("clean", "clean", clean_flow),
    ("audit", "audit", audit_flow),
    ("tokenize", "tokens", tokenize_flow),
    ("train", "train", train_flow),
    ("evaluate", "evaluate", evaluate_flow),
    ("register", "register", register_flow),
)


@flow(name="corpus-to-model", log_prints=True)
def corpus_to_model_flow(
    pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None,
    stages: list[str] | None = None, resume: bool = True,
) -> dict[str, Any]:
    """Run the chosen stages (default: all seven) of one pipeline in order, each as a subflow.

    A stage whose inputs, config and code are unchanged reuses its output, so a re-run after a
    crash resumes from the first unfinished stage; an interrupted training continues from its
    last checkpoint unless `resume` is false. Returns each stage's summary by output name.
    """
    ctx = RunContext.load(config_path, pipeline, workspace)
    end_orphaned_runs(pipeline)  # MLflow runs left RUNNING by a killed run of this pipeline -> KILLED
    runner = make_task_runner(ctx.config.runner)
    chosen = stages or [name for name, _, _ in STAGE_FLOWS]
    results: dict[str, Any] = {}
    for name, output, stage_flow in STAGE_FLOWS:
        if name not in chosen:
            continue
        extra = {"resume": resume} if name == "train" else {}
        result = stage_flow.with_options(task_runner=runner)(
            pipeline=pipeline, config_path=config_path, workspace=str(ctx.workspace.root), **extra,
        )
        results.update(result if name == "clean" else {output: result})
    return _by_model(results)


def _by_model(results: dict[str, Any]) -> dict[str, Any]:
    """Fold the per-model results of train/evaluate/register into `models.<name>`."""
    models: dict[str, dict[str, Any]] = {}
    for key in ("train", "evaluate", "register"):
        for model, value in results.pop(key, {}).items():
            field = {"train": "training", "evaluate": "metrics", "register": "registered"}[key]
            models.setdefault(model, {})[field] = value
    if models:
        results["models"] = models
    return results
