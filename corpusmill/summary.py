"""The short report `corpusmill run` ends with: rows per stage, audit, models, aliases, outputs, UIs."""

from __future__ import annotations

import os
from typing import Any

from corpusmill import links
from corpusmill.workspace import Workspace
from tasks.audit.probe_gate import gate_hint_lines
from tasks.evaluate.baselines import summary_lines

DATA_STAGES = ("raw", "clean", "quarantine", "audit", "tokens")
ROW_STAGES = ("raw", "clean", "quarantine", "tokens")  # datasets of documents (the audit's rows are report records)


def _fmt_metrics(metrics: dict[str, Any], limit: int = 4) -> str:
    shown = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float))][:limit]
    return ", ".join(f"{k}={v:.4g}" for k, v in shown) or "-"


def render_summary(results: dict[str, dict[str, Any]], ws: Workspace, env: dict[str, str], seconds: float) -> str:
    """Text of the end-of-run summary from the flows' results (one dict per pipeline)."""
    lines = [f"corpusmill: {len(results)} pipeline(s) in {seconds:.0f} s; workspace {ws.root}", ""]
    for pipeline, result in results.items():
        lines.append(f"== {pipeline}")
        rows = [f"{stage}={result[stage]['rows']}" for stage in ROW_STAGES if stage in result and "rows" in result[stage]]
        if rows:
            lines.append("  rows:     " + "  ".join(rows) + ("  (reused)" if all(result[s].get("reused") for s in DATA_STAGES if s in result) else ""))
        audit = result.get("audit", {})
        if audit.get("headline"):
            records = f" ({audit['rows']} report records: groups, filter impact, nPMI, gates)" if "rows" in audit else ""
            lines.append(f"  audit:    {audit['headline']}{records}")
        for name, model in result.get("models", {}).items():
            reg = model.get("registered", {})
            version = f"v{reg['version']}" if reg.get("version") else "not registered"
            alias = reg.get("alias") or "-"
            lines.append(f"  model:    {reg.get('name', name)} {version} alias={alias}  test: {_fmt_metrics(model.get('metrics', {}))}")
            if reg.get("reason"):
                lines.append(f"            {reg['reason']}")
            if reg.get("fairness"):
                lines.append(f"            fairness verdict: {reg['fairness']}")
            lines += summary_lines(model.get("metrics", {}))
            lines += gate_hint_lines(reg)
        for app in [key for key in result if key.startswith("scores/")]:  # the scoring applications' runs
            s = result[app]
            lines.append(
                f"  {app}: {s['new_rows']} new rows ({len(s['new_partitions'])} partition(s)), "
                f"{s['total_rows']} total, by {s['model']} v{s['version']} -> {s['output']}"
            )
        lines.append(f"  data:     {ws.data_root}/{pipeline}/")
        if result.get("config"):
            lines.append(f"  config:   sha256 {result['config']['sha256']} ({result['config']['snapshot']})")
        lines.append("")
    if env.get("PREFECT_API_URL"):  # servers (e.g. the stack's env file): point at them
        lines.append(f"MLflow: {env.get('MLFLOW_TRACKING_URI')}   Prefect: {env['PREFECT_API_URL'].removesuffix('/api')}")
    else:
        lines += [
            f"MLflow store: {env.get('MLFLOW_TRACKING_URI')}   Prefect home: {env.get('PREFECT_HOME')}",
            f"See the runs: `make ui`, then Prefect at {links.prefect_ui_url()}/runs and MLflow at {links.experiments_url()}",
        ]
    return "\n".join(lines)


def print_summary(results: dict[str, dict[str, Any]], ws: Workspace, env: dict[str, str], seconds: float, run_owned_api: str | None = None) -> None:
    """Print `render_summary` to stdout. `run_owned_api`: the URL of the Prefect API server this run
    started for itself (gone after the run), which is not a server to point people at."""
    servers = {k: os.environ[k] for k in ("MLFLOW_TRACKING_URI", "PREFECT_API_URL") if os.environ.get(k) and os.environ[k] != run_owned_api}
    print(render_summary(results, ws, {**env, **servers}, seconds))
