"""Prefect bookkeeping per stage and per shard task, on a workspace whose stages are all finished.

Per stage of one pipeline: the stage's own reuse check (`plan` + verified `reuse`, no Prefect), the
reused stage as one task run in the parent flow (what `corpus-to-model` does now), and the same
stage as a subflow (what it did before), with and without flow-run heartbeats (the run-owned
server runs without). Per shard task: a plain call of a no-op function, the same function as a
Prefect task called, and submitted to the thread-pool task runner. Medians over `--repeat` runs;
the machine's load average is printed with the figures.

    corpusmill run                                   # once: every stage finished (then reused)
    python -m bench.orchestration                    # demo-reviews, 3 repeats
    python -m bench.orchestration demo-shop --repeat 5

Runs on its own Prefect API server (as `corpusmill run` does) over the workspace's PREFECT_HOME.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def _median_s(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _noop(i: int) -> int:
    return i


def measure(pipeline: str, config: str, repeat: int, shards: int) -> list[tuple[str, str, float]]:
    """(what, how, median seconds) rows; call inside a Prefect flow run (see `main`)."""
    from prefect import task

    from flows.corpus_to_model import STAGE_FLOWS
    from flows.runtime import RunContext, make_task_runner
    from tasks.common.errors import quiet_warnings

    ctx = RunContext.load(config, pipeline)
    runner = make_task_runner(ctx.config.runner)
    rows = []
    for name, _, stage_cls, stage_flow in STAGE_FLOWS:
        if ctx.pipeline.data_only and name not in ("ingest", "clean", "audit"):
            continue
        stage = stage_cls(ctx, config) if name == "train" else stage_cls(ctx)

        def check(stage: Any = stage) -> None:
            with quiet_warnings():
                assert stage.reuse(stage.plan()) is not None, f"{pipeline}/{stage.name} is not finished: run it first"

        rows.append((name, "reuse check only (plan + verify)", _median_s(check, repeat)))
        rows.append((name, "reused: one task run in the parent", _median_s(lambda s=stage: s.reuse_in_parent(pipeline), repeat)))
        subflow = stage_flow.with_options(task_runner=runner, flow_run_name=f"{pipeline}-{name}")
        extra = {"config_sha256": None} if name == "train" else {}
        rows.append((name, "reused: subflow, no heartbeats", _median_s(lambda f=subflow, e=extra: f(pipeline=pipeline, config_path=config, **e), repeat)))
    noop_task = task(_noop, name="noop-shard")
    rows.append((f"{shards} shards", "plain calls", _median_s(lambda: [_noop(i) for i in range(shards)], repeat)))
    rows.append((f"{shards} shards", "task calls", _median_s(lambda: [noop_task(i) for i in range(shards)], repeat)))
    rows.append((f"{shards} shards", "task .submit (threads)", _median_s(lambda: [f.result() for f in [noop_task.submit(i) for i in range(shards)]], repeat)))
    return rows


def main() -> None:
    """Print a Markdown table of the bookkeeping per stage and per shard task."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", nargs="?", default="demo-reviews")
    parser.add_argument("--config", default="pipelines.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    from corpusmill.config import load_config
    from corpusmill.processes import run_settings, start_run_api_server
    from corpusmill.workspace import Workspace, apply_environment

    config = load_config(args.config)
    ws = Workspace.at(os.environ.get("CORPUSMILL_HOME") or config.workspace, config.data_uri)
    apply_environment(ws.environment(config.mlflow_tracking_uri))
    server = start_run_api_server()
    from prefect import flow

    own = server.ready() if server is not None else None
    rows: list[tuple[str, str, float]] = []

    @flow(name="bench-orchestration")
    def bench() -> None:
        rows.extend(measure(args.pipeline, os.path.abspath(args.config), args.repeat, args.shards))

    started = time.perf_counter()
    with run_settings(own):
        bench()
        from prefect.task_runners import ThreadPoolTaskRunner

        subflow = flow(name="bench-subflow")(lambda: None)
        parent = flow(name="bench-parent")(
            lambda: rows.append(("empty flow", "subflow, no heartbeats", _median_s(subflow.with_options(task_runner=ThreadPoolTaskRunner()), args.repeat)))
        )
        parent()
    heartbeat = flow(name="bench-parent-heartbeats")(
        lambda: rows.append(("empty flow", "subflow, heartbeats on (Prefect default)", _median_s(flow(name="bench-subflow")(lambda: None), args.repeat)))
    )
    if own is not None:
        from prefect.settings import temporary_settings

        with temporary_settings(updates={"api.url": own}):
            heartbeat()
    print(
        f"{args.pipeline}, medians of {args.repeat}, load average {os.getloadavg()[0]:.1f} "
        f"({os.cpu_count()} CPUs), bench {time.perf_counter() - started:.0f} s\n"
    )
    print("| stage / shards | how | seconds |\n|---|---|---|")
    for what, how, seconds in rows:
        print(f"| {what} | {how} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
