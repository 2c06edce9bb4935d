"""`corpusmill` command line: run, validate, tune, serve, ui, stack.

Environment (Prefect home, MLflow store, offline switches) is set here, before Prefect is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpusmill.workspace import Workspace, apply_environment
from tasks.common.errors import ConfigError, CorpusmillError
from tasks.common.locks import LockTimeout, pipeline_locks

if TYPE_CHECKING:  # the config imports every stage's config, the model kinds' among them (torch):
    # `run` starts its Prefect API server first, then parses the config while the server boots
    from corpusmill.config import CorpusmillConfig
    from corpusmill.processes import RunApiServer

STAGES = ("ingest", "clean", "audit", "tokenize", "train", "evaluate", "register", "score")


def _workspace(args: argparse.Namespace, config: CorpusmillConfig) -> Workspace:
    root = args.workspace or os.environ.get("CORPUSMILL_HOME") or config.workspace
    return Workspace.at(root, config.data_uri)


def _prepare(args: argparse.Namespace) -> tuple[CorpusmillConfig, Workspace, dict[str, str]]:
    from corpusmill.config import load_config

    config = load_config(args.config)
    ws = _workspace(args, config)
    env = ws.environment(config.mlflow_tracking_uri)
    apply_environment(env)
    return config, ws, env


def _parse_stages(text: str | None) -> list[str] | None:
    if not text:
        return None
    stages = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"--stages: unknown stage(s) {unknown}; known: {', '.join(STAGES)}")
    return stages


def cmd_validate(args: argparse.Namespace) -> int:
    """Parse and validate the config file; print the pipelines it defines."""
    from corpusmill.config import load_config

    config = load_config(args.config)
    for name, pipeline in config.pipelines.items():
        flag = "default" if pipeline.default else "       "
        models = ", ".join(f"{pipeline.registered_name(m)} ({c.kind})" for m, c in pipeline.models.items()) or "(data only)"
        sources = " + ".join(f"{source.format} {source.uri}" for source in pipeline.sources)
        print(f"{flag}  {name}: {sources} -> {models}")
    from tasks.ingest.checks import check_sources

    problems = check_sources({name: p.sources for name, p in config.pipelines.items()}, deep=args.deep)
    for problem in problems:
        print(f"corpusmill: error: {problem}", file=sys.stderr)
    if problems:
        return 2
    print(f"{args.config}: OK" + (" (sources opened, columns found)" if args.deep else " (sources exist)"))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run pipelines end to end (or some stages), then the scoring applications; print a summary."""
    from corpusmill.processes import early_run_api_server

    early = early_run_api_server(args.config, args.workspace or os.environ.get("CORPUSMILL_HOME"))
    try:
        config, ws, env = _prepare(args)
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    if early is not None and (early.environ or {}).get("PREFECT_HOME") != os.environ.get("PREFECT_HOME"):
        early.cancel()  # started for another Prefect home than the run's
        early = None
    stages = _parse_stages(args.stages)
    names = args.pipelines or config.default_pipelines()
    for name in names:
        config.pipeline(name)
    from tasks.ingest.checks import check_sources

    problems = check_sources({name: config.pipeline(name).sources for name in names})
    if problems:
        raise CorpusmillError(problems[0])
    from corpusmill.services import ensure_prefect_database

    ensure_prefect_database(env)  # shared by every pipeline of the workspace: under its own lock
    timeout = 0.0 if args.no_wait else args.wait_timeout
    try:
        with pipeline_locks(ws.lock_dir, names, timeout, say=_say):
            return _run_locked(args, config, ws, env, stages, names, early)
    except LockTimeout as error:
        print(f"corpusmill: another run holds the workspace: {error}", file=sys.stderr)
        return 3


def _say(line: str) -> None:
    print(f"corpusmill: {line}", file=sys.stderr, flush=True)


def _run_locked(
    args: argparse.Namespace,
    config: CorpusmillConfig,
    ws: Workspace,
    env: dict[str, str],
    stages: list[str] | None,
    names: list[str],
    server: RunApiServer | None = None,
) -> int:
    """The part of `cmd_run` done while holding the pipelines' locks (`server`: the early API server)."""
    from corpusmill.processes import run_settings, start_run_api_server

    if server is None:  # None when PREFECT_API_URL names a real server; it boots while we import
        server = start_run_api_server()
    from corpusmill.summary import print_summary
    from corpusmill.user_errors import quiet_user_errors
    from flows.corpus_to_model import corpus_to_model_flow
    from flows.scoring import run_applications

    own_api = server.ready() if server is not None else None
    quiet_user_errors()  # a user error raised in a flow: one line, no traceback per Prefect level
    from flows.runtime import snapshot_config

    # one frozen copy of the config for every flow of this run (the pipelines and their scoring)
    config_path, _ = snapshot_config(str(Path(args.config).resolve()), ws.root)
    started = time.time()
    with run_settings(own_api):
        results = _run_pipelines(args, config, config_path, ws, stages, names, corpus_to_model_flow, run_applications)
    print_summary(results, ws, env, time.time() - started, run_owned_api=own_api)
    return 0


def _run_pipelines(
    args: argparse.Namespace,
    config: CorpusmillConfig,
    config_path: str,
    ws: Workspace,
    stages: list[str] | None,
    names: list[str],
    corpus_to_model_flow: Any,
    run_applications: Any,
) -> dict[str, dict]:
    """Each pipeline's corpus-to-model flow, then its applications' scoring flows; results by pipeline."""
    results: dict[str, dict] = {}
    for name in names:
        pipeline_stages = [s for s in (stages or STAGES) if s != "score"]
        result = (
            corpus_to_model_flow(pipeline=name, config_path=config_path, workspace=str(ws.root), stages=pipeline_stages, resume=args.resume)
            if pipeline_stages
            else {}
        )
        if stages is None or "score" in stages:
            result.update(run_applications(config, name, config_path, str(ws.root)))
        results[name] = result
    return results


def cmd_ui(args: argparse.Namespace) -> int:
    """Start the Prefect server and the MLflow UI (127.0.0.1, ports 4200/5000 by default); Ctrl-C stops both."""
    _, ws, env = _prepare(args)
    from corpusmill import links, services

    services.ensure_prefect_database(env)
    processes = [services.start_prefect_server(env, args.prefect_port), services.start_mlflow_ui(ws, env, args.mlflow_port)]
    with services.stopping_on_interrupt(processes, "\nstopping the Prefect server and the MLflow UI ..."):
        services.wait_for_port(args.prefect_port, 120)
        services.wait_for_port(args.mlflow_port, 120)
        prefect_url, mlflow_url = (f"http://{services.HOST}:{args.prefect_port}", f"http://{services.HOST}:{args.mlflow_port}")
        print(f"Prefect UI: {prefect_url}/runs  (flow runs, a subflow per stage, artifacts)")
        print(f"MLflow UI:  {links.experiments_url(mlflow_url)}  (experiments per pipeline, Models)")
        print("Ctrl-C stops both.", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the deployments of pipelines.yaml against a Prefect server (started here if none runs).

    Ctrl-C or SIGTERM stops serving first, then the server this command started."""
    config, ws, env = _prepare(args)
    from corpusmill import services

    processes = []
    with services.stopping_on_interrupt(processes, "\nstopping: serve, then the Prefect server it started ..."):
        if "PREFECT_API_URL" not in os.environ:
            if not services.port_open(args.prefect_port):
                services.ensure_prefect_database(env)
                processes.append(services.start_prefect_server(env, args.prefect_port))
                services.wait_for_port(args.prefect_port, 120)
            os.environ["PREFECT_API_URL"] = f"http://{services.HOST}:{args.prefect_port}/api"
        from prefect import serve

        from flows.deployments import build_deployments

        deployments = build_deployments(config, str(Path(args.config).resolve()), str(ws.root))
        print(services.serve_banner(deployments, os.environ["PREFECT_API_URL"]), flush=True)
        serve(*deployments, print_starting_message=False)
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    """`stack up|down|status`: the production stack as local processes (corpusmill/stack.py)."""
    from corpusmill import stack
    from corpusmill.stack_services import StackSettings

    settings = StackSettings.from_env(
        state_dir=args.state_dir,
        prefect_port=args.prefect_port,
        mlflow_port=args.mlflow_port,
        s3_port=args.s3_port,
        dask_port=args.dask_port,
        deploy=args.deploy,
    )
    if args.action == "up":
        stack.up(settings)
    elif args.action == "down":
        return 1 if stack.down(settings.state_dir) else 0
    else:
        return 0 if set(stack.status(settings.state_dir).values()) <= {"healthy"} else 1
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    """Seeded search of one model's hyper-parameters on validation (trials = nested MLflow runs)."""
    config, ws, _ = _prepare(args)
    pipeline = config.pipeline(args.pipeline)
    if args.model not in pipeline.models:
        raise ConfigError(f"pipeline {args.pipeline!r} has no model {args.model!r}; known: {', '.join(pipeline.models)}")
    from tasks.train.tune import resolve_pretrained_lm, search_config, tune_model, yaml_overrides

    model = resolve_pretrained_lm(pipeline.models[args.model], {m: ws.model_dir(pipeline.name, m) for m in pipeline.models})
    search = search_config(model.kind, args.trials, args.seed, args.space)
    result = tune_model(
        pipeline.name,
        args.model,
        model,
        ws.stage_uri(pipeline.name, "tokens"),
        pipeline.name,
        ws.mlflow_artifact_root,
        ws.model_dir(pipeline.name, args.model) / "search",
        search,
    )
    for trial in result.trials:
        print(f"trial {trial.number}: val_{result.monitor}={trial.value:.4f}  {trial.params}")
    print(f"best on validation: val_{result.monitor}={result.best_value:.4f} (MLflow parent run {result.parent_run_id})")
    print(f"pipelines.{pipeline.name}.models.{args.model} overrides:\n{yaml_overrides(result.best_params)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `corpusmill` command."""
    parser = argparse.ArgumentParser(prog="corpusmill", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default="pipelines.yaml", help="pipelines file (default: pipelines.yaml)")
        p.add_argument("--workspace", default=None, help="workspace folder (default: $CORPUSMILL_HOME or the file's `workspace`)")

    run = sub.add_parser("run", help="run pipelines end to end, then the scoring applications")
    run.add_argument("pipelines", nargs="*", help="pipeline names (default: those marked default)")
    run.add_argument("--stages", default=None, help=f"comma-separated subset of: {','.join(STAGES)}")
    run.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue an interrupted training from its last checkpoint (default); --no-resume starts it over",
    )
    run.add_argument("--wait-timeout", type=float, default=3600.0, help="seconds to wait for another run of the same pipeline to finish (default 3600)")
    run.add_argument("--no-wait", action="store_true", help="fail at once (exit 3) when another run holds the pipeline")
    common(run)
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check pipelines.yaml and list its pipelines")
    validate.add_argument("--config", default="pipelines.yaml")
    validate.add_argument("--deep", action="store_true", help="also open each source and check its configured columns (reads a first block only)")
    validate.set_defaults(func=cmd_validate)
    for name, func, text in (("ui", cmd_ui, "start the Prefect and MLflow UIs"), ("serve", cmd_serve, "serve the scheduled and on-demand deployments")):
        p = sub.add_parser(name, help=text)
        common(p)
        p.add_argument("--prefect-port", type=int, default=4200, help="Prefect server port (default 4200)")
        if name == "ui":
            p.add_argument("--mlflow-port", type=int, default=5000, help="MLflow UI port (default 5000)")
        p.set_defaults(func=func)
    tune = sub.add_parser("tune", help="seeded hyper-parameter search of one model on validation (Optuna TPE)")
    tune.add_argument("pipeline")
    tune.add_argument("model")
    tune.add_argument("--trials", type=int, default=8, help="number of trainings (default 8)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the TPE sampler (default 0)")
    tune.add_argument("--space", default=None, help='JSON {"train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": true}, ...}')
    common(tune)
    tune.set_defaults(func=cmd_tune)
    st = sub.add_parser("stack", help="start/stop/check the production stack (servers, S3, Dask, worker) as processes")
    st.add_argument("action", choices=("up", "down", "status"))
    st.add_argument("--state-dir", default=None, help="state folder (default workspace/stack, $CORPUSMILL_STACK_STATE_DIR)")
    for port in ("prefect", "mlflow", "s3", "dask"):
        st.add_argument(f"--{port}-port", type=int, default=None, help=f"{port} port (0: a free one)")
    st.add_argument(
        "--deploy",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="register the deployments of infra/pipelines.stack.yaml on the work pool (default)",
    )
    st.set_defaults(func=cmd_stack)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; config errors and other user errors (bad or missing
    input, damaged outputs, degenerate data; also raised inside flows) exit 2 with one line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except ConfigError as error:
        print(f"corpusmill: config error: {error}", file=sys.stderr)
        code = 2
    except CorpusmillError as error:
        print(f"corpusmill: error: {error}", file=sys.stderr)
        code = 2
    if argv is None and args.command == "run":  # the program itself: skip tearing down every module
        from corpusmill.processes import exit_now

        exit_now(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
