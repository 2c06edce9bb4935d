"""Local services for people: the Prefect server and the MLflow UI over the workspace's stores."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corpusmill.processes import die_with_parent
from corpusmill.workspace import Workspace
from tasks.common.locks import hold

PREFECT_PORT = 4200
MLFLOW_PORT = 5000
HOST = "127.0.0.1"
DATABASE_READY = ".database-ready"


def _bin(name: str) -> str:
    """A console script of this environment (the venv's), falling back to PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else (shutil.which(name) or name)


def port_open(port: int, host: str = HOST) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float, host: str = HOST) -> None:
    """Block until host:port accepts connections; raise TimeoutError naming the port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if port_open(port, host):
            return
        time.sleep(0.5)
    raise TimeoutError(f"nothing answered on {host}:{port} within {timeout:.0f} s")


def ensure_prefect_database(env: dict[str, str]) -> None:
    """Create/upgrade the local Prefect SQLite database once (else the first ephemeral run times out).

    Nothing to do when PREFECT_API_URL points at a server: that server owns its database.
    Two runs starting at once on a cold workspace would both migrate the same SQLite file: the
    upgrade runs under a lock file (`PREFECT_HOME/.database.lock`) and a marker (`.database-ready`)
    written after it succeeded tells later runs that the database is complete (a killed upgrade
    leaves no marker, so the next run upgrades again: alembic resumes at the last applied step).
    """
    if os.environ.get("PREFECT_API_URL") or env.get("PREFECT_API_URL"):
        return
    home = Path(env["PREFECT_HOME"])
    ready = home / DATABASE_READY
    if ready.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    with hold(home / ".database.lock", say=lambda line: print(f"corpusmill: {line}", file=sys.stderr)):
        if ready.exists():  # set up by the run we waited for
            return
        subprocess.run(
            [_bin("prefect"), "server", "database", "upgrade", "-y"],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        ready.write_text("ok\n", encoding="utf-8")


def prefect_server_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a local Prefect server: the workspace's, quiet (WARNING logs)."""
    return {**os.environ, **env, "PREFECT_SERVER_LOGGING_LEVEL": "WARNING", "PREFECT_LOGGING_LEVEL": "WARNING"}


def start_prefect_server(env: dict[str, str], port: int = PREFECT_PORT, host: str = HOST) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on host:port over the workspace's PREFECT_HOME, in its own session
    (so a Ctrl-C in the terminal reaches only us, and we stop it after what depends on it)."""
    return subprocess.Popen(
        [_bin("prefect"), "server", "start", "--host", host, "--port", str(port), "--log-level", "WARNING"],
        env={**prefect_server_env(env), "PREFECT_UI_URL": f"http://{host}:{port}", "PREFECT_SERVER_UI_API_URL": f"http://{host}:{port}/api"},
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def start_mlflow_ui(ws: Workspace, env: dict[str, str], port: int = MLFLOW_PORT, host: str = HOST) -> subprocess.Popen[bytes]:
    """Start the MLflow tracking server/UI on host:port over the workspace's stores, sized for one
    person: one web worker, no access log, no job-execution consumers (MLflow's GenAI jobs), in its own session."""
    ws.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            _bin("mlflow"),
            "server",
            "--backend-store-uri",
            env["MLFLOW_TRACKING_URI"],
            "--default-artifact-root",
            str(ws.mlflow_artifact_root),
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            "1",
            "--uvicorn-opts",
            "--no-access-log --log-level warning",
            "--app-name",
            "corpusmill-ui",
        ],  # corpusmill/mlflow_app.py: experiments open on their runs
        env={**os.environ, **env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def stop(processes: list[subprocess.Popen[bytes]], timeout: float = 10) -> None:
    """Stop child processes in the order given, each with its process group: SIGTERM, then SIGKILL
    when it has not exited within `timeout` seconds."""
    for process in processes:
        if process.poll() is not None:
            continue
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=timeout)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # started with start_new_session: its group id is its pid
    except (ProcessLookupError, PermissionError):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt, as Ctrl-C does (one shutdown path)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def stopping_on_interrupt(processes: list[subprocess.Popen[bytes]], message: str) -> Iterator[None]:
    """Run the block until it ends or Ctrl-C / SIGTERM interrupts it (then `message` is printed,
    no traceback); either way the `processes` (those the block started; it may append) are stopped."""
    with interrupt_on_sigterm():
        try:
            yield
        except KeyboardInterrupt:
            print(message, flush=True)
        finally:
            stop(processes)


def serve_banner(deployments: list[Any], api_url: str) -> str:
    """What `corpusmill serve` prints: the deployments and a command that runs one from another terminal."""
    names = [f"{d.flow_name}/{d.name}" for d in deployments]
    ui = api_url.removesuffix("/api")
    lines = [f"Serving {len(names)} deployment(s) on {api_url} (Prefect UI: {ui}/deployments):"]
    lines += [f"  {name}" for name in names]
    if names:
        lines += [
            "Run one from another terminal (Ctrl-C here stops serving, then the server started here):",
            f"  PREFECT_API_URL={api_url} prefect deployment run '{names[0]}'",
        ]
    return "\n".join(lines)
