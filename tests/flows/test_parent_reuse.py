"""Reuse is decided in the parent flow: a fully reused run creates no stage subflow, yet each stage
shows as one `Cached` task run `<pipeline>-<stage>` and the run returns the same summary; a changed
config still recomputes that stage and everything downstream (as subflows), and nothing upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, TaskRunFilter, TaskRunFilterName

from flows.corpus_to_model import corpus_to_model_flow

CONFIG = """
workspace: {ws}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  reuse-{tag}:
    source: {{uri: "demo://reviews", format: demo, label_column: label, rows: 150, seed: 7}}
    clean: {clean}
"""
STAGES = ("ingest", "clean", "audit")


def _run(config: Path, pipeline: str) -> tuple[UUID, dict[str, Any]]:
    state = corpus_to_model_flow(pipeline=pipeline, config_path=str(config), return_state=True)
    return state.state_details.flow_run_id, state.result()


def _stage_runs(pipeline: str) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Flow runs and task runs named `<pipeline>-<stage>`, by stage."""
    names = [f"{pipeline}-{stage}" for stage in STAGES]
    with get_client(sync_client=True) as client:
        flows = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=names)))
    by_flow = {s: [r for r in flows if r.name == f"{pipeline}-{s}"] for s in STAGES}
    by_task = {s: [r for r in tasks if r.name == f"{pipeline}-{s}"] for s in STAGES}
    return by_flow, by_task


def _without_reused(result: dict[str, Any]) -> dict[str, Any]:
    return {k: {f: v for f, v in s.items() if f != "reused"} for k, s in result.items() if k != "config"}


def _write(tmp_path: Path, tag: str, clean: str) -> Path:
    config = tmp_path / "pipelines.yaml"
    config.write_text(CONFIG.format(ws=tmp_path / "ws", tag=tag, clean=clean), encoding="utf-8")
    return config


def test_a_reused_run_has_no_stage_subflows_but_cached_stage_task_runs(prefect_harness, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    pipeline = "reuse-a"
    config = _write(tmp_path, "a", "[normalize, exact_dedup]")
    _, first = _run(config, pipeline)
    second_id, second = _run(config, pipeline)

    assert not any(first[k]["reused"] for k in ("raw", "clean", "quarantine", "audit"))
    assert all(second[k]["reused"] for k in ("raw", "clean", "quarantine", "audit"))
    assert _without_reused(second) == _without_reused(first)  # the same summary
    flows, tasks = _stage_runs(pipeline)
    for stage in STAGES:
        assert len(flows[stage]) == 1, f"{stage}: a subflow only in the first run, got {len(flows[stage])}"
        assert len(tasks[stage]) == 1, f"{stage}: one reused task run, in the second run"
        (reused,) = tasks[stage]
        assert reused.flow_run_id == second_id and reused.state.name == "Cached" and reused.state.is_completed()


def test_a_changed_clean_config_recomputes_clean_and_audit_not_ingest(prefect_harness, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    pipeline = "reuse-b"
    _run(_write(tmp_path, "b", "[normalize, exact_dedup]"), pipeline)
    _, changed = _run(_write(tmp_path, "b", "[normalize, exact_dedup, {length: {min_words: 3}}]"), pipeline)

    assert changed["raw"]["reused"]
    assert not changed["clean"]["reused"] and not changed["audit"]["reused"]
    assert changed["clean"]["counters"]["steps"]["length"]["kept"] < changed["raw"]["rows"]  # a real change
    flows, tasks = _stage_runs(pipeline)
    assert len(flows["ingest"]) == 1 and len(tasks["ingest"]) == 1  # first run's subflow, then reused
    assert len(flows["clean"]) == 2 and len(flows["audit"]) == 2  # recomputed: a subflow again
    assert tasks["clean"] == [] and tasks["audit"] == []
