"""The main job: ingest -> clean -> audit -> tokenize -> train -> evaluate -> register, one subflow per stage."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from corpusmill.workspace import Workspace
from flows.audit import AuditStage, audit_flow
from flows.clean import CleanStage, clean_flow
from flows.evaluate import EvaluateStage, evaluate_flow
from flows.ingest import IngestStage, ingest_flow
from flows.register import RegisterStage, register_flow
from flows.run_report import publish, run_name, tag_current_flow_run
from flows.runtime import RunContext, make_task_runner, snapshot_config
from flows.tokenize import TokenizeStage, tokenize_flow
from flows.train import TrainStage, train_flow
from tasks.common.tracking import end_orphaned_runs

# The stage registry, in run order: name, output key in the result, the stage (contract), its subflow.
STAGE_FLOWS = (
    ("ingest", "raw", IngestStage, ingest_flow),
    ("clean", "clean", CleanStage, clean_flow),
    ("audit", "audit", AuditStage, audit_flow),
    ("tokenize", "tokens", TokenizeStage, tokenize_flow),
    ("train", "train", TrainStage, train_flow),
    ("evaluate", "evaluate", EvaluateStage, evaluate_flow),
    ("register", "register", RegisterStage, register_flow),
)
# The stage names a run may choose (the Prefect UI offers them; anything else fails validation).
# Scoring is not a stage of this flow: the score-recommendations / score-summaries flows do it.
Stage = Literal["ingest", "clean", "audit", "tokenize", "train", "evaluate", "register"]
DATA_ONLY_STAGES = ("ingest", "clean", "audit")


@flow(name="corpus-to-model", log_prints=True, flow_run_name=run_name)
def corpus_to_model_flow(
    pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None, stages: list[Stage] | None = None, resume: bool = True
) -> dict[str, Any]:
    """Run the chosen stages (default: all seven) of one pipeline in order, each as a subflow
    named `<pipeline>-<stage>`; a pipeline without models (data only) runs ingest, clean, audit.

    A stage whose inputs, config and code are unchanged reuses its output (decided here, before
    any subflow: it shows as one `Cached` task run `<pipeline>-<stage>`), so a re-run after a
    crash resumes from the first unfinished stage; an interrupted training continues from its
    last checkpoint unless `resume` is false. Returns each stage's summary by output name.
    Ends with the summary artifact `<pipeline>-summary`, links to MLflow and the MLflow run notes.
    """
    root = str(Workspace.at(workspace).root if workspace else RunContext.load(config_path, pipeline).workspace.root)
    config_path, config_sha = snapshot_config(config_path, root)  # every stage reads this copy
    ctx = RunContext.load(config_path, pipeline, root)
    print(f"config snapshot {config_path} (sha256 {config_sha})")
    tag_current_flow_run(["corpusmill", pipeline])
    end_orphaned_runs(pipeline)  # MLflow runs left RUNNING by a killed run of this pipeline -> KILLED
    runner = make_task_runner(ctx.config.runner)
    chosen = list(stages or [name for name, _, _, _ in STAGE_FLOWS])
    if ctx.pipeline.data_only:
        skipped = [s for s in chosen if s not in DATA_ONLY_STAGES]
        chosen = [s for s in chosen if s in DATA_ONLY_STAGES]
        if skipped:
            print(f"{pipeline} has no models (data only): skipping {', '.join(skipped)}")
    results: dict[str, Any] = {"config": {"snapshot": config_path, "sha256": config_sha}}
    for name, output, stage_cls, stage_flow in STAGE_FLOWS:
        if name not in chosen:
            continue
        extra = {"resume": resume, "config_sha256": config_sha} if name == "train" else {}
        stage = stage_cls(ctx, config_path, **extra) if name == "train" else stage_cls(ctx)
        result = stage.reuse_in_parent(pipeline)  # a reused stage: one cached task run, no subflow
        if result is None:
            result = stage_flow.with_options(task_runner=runner, flow_run_name=f"{pipeline}-{name}")(
                pipeline=pipeline, config_path=config_path, workspace=str(ctx.workspace.root), **extra
            )
        results.update(result if name == "clean" else {output: result})
    results = _by_model(results)
    publish(pipeline, results)
    return results


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
