"""What a person reads in the two UIs about one pipeline run: the Prefect summary and link
artifacts, the run's name and tags, and the MLflow run description (`mlflow.note.content`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact

from corpusmill import links
from flows.runtime import artifact_key

ROW_STAGES = ("raw", "clean", "quarantine", "tokens")
DESCRIPTION_TAG = "mlflow.note.content"


def run_name() -> str:
    """Name of a `corpus-to-model` flow run: `<pipeline>-<UTC time>`, e.g. `demo-reviews-20261130-101500`."""
    from prefect.runtime import flow_run

    pipeline = (flow_run.parameters or {}).get("pipeline", "pipeline")
    return f"{pipeline}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def tag_current_flow_run(tags: list[str]) -> None:
    """Add `tags` to the current flow run (deployment runs already carry them; direct calls do not)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    current = list(flow_run.tags or [])
    wanted = current + [t for t in tags if t not in current]
    if wanted != current and flow_run.id:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id=flow_run.id, tags=wanted)


def _fmt(metrics: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)) or "-"


def summary_markdown(pipeline: str, result: dict[str, Any], model_links: dict[str, dict[str, str]]) -> str:
    """Markdown summary of one `corpus-to-model` run: rows per stage, audit headline, each model's
    test metrics, alias decision and fairness verdict, and links to MLflow."""
    lines = [f"# {pipeline}", ""]
    rows = [(stage, result[stage]) for stage in ROW_STAGES if isinstance(result.get(stage), dict)]
    if rows:
        lines += ["| dataset | rows | reused | uri |", "|---|---|---|---|"]
        lines += [f"| {stage} | {r.get('rows', '-')} | {'yes' if r.get('reused') else 'no'} | `{r.get('uri', '')}` |" for stage, r in rows]
        lines.append("")
    if result.get("config"):
        lines += [f"**Config:** sha256 `{result['config']['sha256']}` (`{result['config']['snapshot']}`)", ""]
    audit = result.get("audit") or {}
    if audit.get("headline"):
        lines += [(f"**Audit:** {audit['headline']} (mitigation: {audit.get('mitigation', 'none')}; {audit.get('rows', 0)} report records)"), ""]
    for name, model in (result.get("models") or {}).items():
        reg = model.get("registered") or {}
        lines += [f"## {reg.get('name', name)}", ""]
        metrics = {k: v for k, v in (model.get("metrics") or {}).items() if k != "fairness_passed"}
        lines.append(f"- test: {_fmt(metrics)}")
        if reg:
            lines.append(f"- registered: v{reg.get('version')} alias `{reg.get('alias')}`: {reg.get('reason', '')}")
        if reg.get("fairness"):
            lines.append(f"- fairness verdict: {reg['fairness']}")
        for text, url in model_links.get(name, {}).items():
            lines.append(f"- [{text}]({url})")
        lines.append("")
    if not result.get("models"):
        lines.append("No model trained in this run (data stages only).")
    return "\n".join(lines).rstrip() + "\n"


def _mlflow_links(result: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per model: MLflow run and registered version URLs (what is known from the results)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    found: dict[str, dict[str, str]] = {}
    for name, model in (result.get("models") or {}).items():
        run_id = (model.get("training") or {}).get("run_id")
        reg = model.get("registered") or {}
        urls: dict[str, str] = {}
        if run_id:
            experiment = client.get_run(run_id).info.experiment_id
            urls["MLflow run"] = links.run_url(experiment, run_id)
            urls["MLflow experiment"] = links.experiment_url(experiment)
        if reg.get("version"):
            urls["model version (model card)"] = links.model_version_url(reg["name"], str(reg["version"]))
        found[name] = urls
    return found


def describe_mlflow_runs(pipeline: str, result: dict[str, Any], flow_run_id: str | None) -> None:
    """Set each trained model's MLflow run description (tag `mlflow.note.content`): what trained on
    which data, the test metrics, the alias decision and the Prefect run that made it."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for name, model in (result.get("models") or {}).items():
        training = model.get("training") or {}
        if not training.get("run_id"):
            continue
        reg = model.get("registered") or {}
        tokens_uri = (result.get("tokens") or {}).get("uri", f"{pipeline}/tokens")
        text = [
            f"**{pipeline} / {name}**, trained by corpusmill on `{tokens_uri}`.",
            "",
            f"- best validation (epoch {training.get('best_epoch')}): {_fmt(training.get('best_val') or {})}",
            f"- test: {_fmt({k: v for k, v in (model.get('metrics') or {}).items() if k != 'fairness_passed'})}",
        ]
        if reg:
            text.append(f"- registered as {reg.get('name')} v{reg.get('version')}, alias `{reg.get('alias')}`: {reg.get('reason', '')}")
        if reg.get("fairness"):
            text.append(f"- fairness verdict: {reg['fairness']}")
        text.append("- per-group model audit: `evaluation/group_metrics.json` (table), model card: `model_card.md`")
        if flow_run_id:
            text.append(f"- Prefect flow run: [{flow_run_id}]({links.flow_run_url(flow_run_id)})")
        client.set_tag(training["run_id"], DESCRIPTION_TAG, "\n".join(text))


def publish(pipeline: str, result: dict[str, Any]) -> None:
    """At the end of a `corpus-to-model` run: the summary artifact `<pipeline>-summary`, link
    artifacts to each model's MLflow run and version, and the MLflow run descriptions."""
    from prefect.runtime import flow_run

    model_links = _mlflow_links(result) if result.get("models") else {}
    create_markdown_artifact(
        key=artifact_key(pipeline, "summary"), markdown=summary_markdown(pipeline, result, model_links), description=f"corpus-to-model summary of {pipeline}"
    )
    for name, urls in model_links.items():
        for text, url in urls.items():
            if text == "MLflow experiment":
                continue
            kind = "mlflow-run" if text == "MLflow run" else "model-version"
            create_link_artifact(link=url, link_text=f"{pipeline}-{name}: {text}", key=artifact_key(pipeline, name, kind), description=text)
    describe_mlflow_runs(pipeline, result, str(flow_run.id) if flow_run.id else None)
