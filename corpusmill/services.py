"""Local services for people: the Prefect server and the MLflow UI over the workspace's stores."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

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
        subprocess.run([_bin("prefect"), "server", "database", "upgrade", "-y"], env={**os.environ, **env},
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
        ready.write_text("ok\n", encoding="utf-8")


def start_prefect_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on 127.0.0.1:4200 over the workspace's PREFECT_HOME."""
    return subprocess.Popen(
        [_bin("prefect"), "server", "start", "--host", HOST, "--port", str(PREFECT_PORT)],
        env={**os.environ, **env}, preexec_fn=die_with_parent,
    )


def start_mlflow_ui(ws: Workspace, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the MLflow tracking server/UI on 127.0.0.1:5000 over the workspace's stores."""
    ws.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [_bin("mlflow"), "server", "--backend-store-uri", env["MLFLOW_TRACKING_URI"],
         "--default-artifact-root", str(ws.mlflow_artifact_root), "--host", HOST, "--port", str(MLFLOW_PORT)],
        env={**os.environ, **env}, preexec_fn=die_with_parent,
    )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate child processes, then kill what does not exit within 10 s."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
