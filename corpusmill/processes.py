"""Child processes that die with their parent, and the run's own ephemeral Prefect API server.

Prefect 3 starts its ephemeral API server (`SubprocessASGIServer`) as a plain `subprocess.Popen`
and stops it from an `atexit` hook, which never runs when the parent is killed with SIGKILL: the
server stays listening. Prefect offers no hook to change how that child is started, so `corpusmill
run` starts the same server itself (same uvicorn command and settings), asks Linux to SIGKILL it
when the parent dies (`prctl(PR_SET_PDEATHSIG)`), and points `PREFECT_API_URL` at it.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx

PR_SET_PDEATHSIG = 1
HOST = "127.0.0.1"


def die_with_parent() -> None:
    """`preexec_fn` for `subprocess.Popen`: the child gets SIGKILL when the process that started it
    exits, however it exits (Linux only; a no-op elsewhere). Exits at once if the parent is
    already gone (it died between fork and this call: the child was adopted by another process)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:
        os._exit(1)


def free_port(host: str = HOST) -> int:
    """A TCP port the OS says is free right now (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _api_env(environ: dict[str, str] | None) -> tuple[str, dict[str, str]]:
    spec = importlib.util.find_spec("prefect")  # not imported: Prefect reads its settings once, on import
    if spec is None or spec.origin is None:
        raise RuntimeError("prefect is not installed")
    app_dir = str(Path(spec.origin).resolve().parent.parent)
    env = {**(os.environ if environ is None else environ), "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    return app_dir, env


def launch_ephemeral_api(environ: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start (without waiting for it) Prefect's API server for this run only, as Prefect's own
    ephemeral mode does (no UI, ephemeral services, on 127.0.0.1 at a free port) but dying with
    this process. Out: the process and its API URL (`http://127.0.0.1:<port>/api`)."""
    app_dir, env = _api_env(environ)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            app_dir,
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        preexec_fn=die_with_parent,
    )
    return process, f"http://{HOST}:{port}/api"


def start_ephemeral_api(timeout: float = 120.0, tries: int = 3, environ: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`launch_ephemeral_api`, then wait until `/api/health` answers.

    In: how long to wait, and how many ports to try (another process may take the port between
    choosing it and binding it). Out: the process and its API URL. Runs in `environ` (default:
    this process's environment, with PREFECT_HOME etc.).
    Raises RuntimeError naming the exit code when the server never answers.
    """
    error = "no try made"
    for _ in range(max(1, tries)):
        process, url = launch_ephemeral_api(environ)
        if _wait_healthy(process, url, timeout):
            return process, url
        error = f"exit code {process.poll()}" if process.poll() is not None else f"no answer within {timeout:.0f} s"
        stop_process(process)
    raise RuntimeError(f"the run's Prefect API server did not start ({error})")


def _wait_healthy(process: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(f"{url}/health", timeout=5).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return False


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate a child, then kill it when it has not exited after `grace` seconds; reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RunApiServer:
    """The run's own Prefect API server, started early so that it boots while the code is imported.
    `environ`: its environment (default: this process's)."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.environ = environ
        self.process, self.url = launch_ephemeral_api(environ)
        atexit.register(lambda: stop_process(self.process))
        os.environ["PREFECT_API_URL"] = self.url

    def cancel(self) -> None:
        """Stop the server and unset `PREFECT_API_URL` (started for another workspace than the run's)."""
        stop_process(self.process)
        if os.environ.get("PREFECT_API_URL") == self.url:
            del os.environ["PREFECT_API_URL"]

    def ready(self, timeout: float = 120.0) -> str:
        """Wait until the server answers; returns its URL. When it did not start (its port taken
        meanwhile), another is started on another port and `PREFECT_API_URL` is updated (pass the
        URL to `run_settings`: Prefect, already imported, read the first one)."""
        if _wait_healthy(self.process, self.url, timeout):
            return self.url
        stop_process(self.process)
        self.process, self.url = start_ephemeral_api(timeout, environ=self.environ)
        os.environ["PREFECT_API_URL"] = self.url
        return self.url


def early_run_api_server(config_path: str, workspace: str | None) -> RunApiServer | None:
    """The run's own Prefect API server, started before the config (and the model code it imports)
    is loaded, so that both take their time at once. Only for a workspace whose Prefect database is
    ready; without `workspace`, its root is peeked from the file's `workspace` key (the config itself
    is parsed once, later). None when PREFECT_API_URL names a server or nothing is known yet; the
    caller cancels it when the run's PREFECT_HOME turns out to be another."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    if workspace is None:
        try:
            import yaml

            with open(config_path, encoding="utf-8") as handle:
                workspace = str((yaml.safe_load(handle) or {}).get("workspace", "workspace"))
        except (OSError, ValueError, AttributeError):
            return None
    from corpusmill.services import DATABASE_READY
    from corpusmill.workspace import OFFLINE_ENV

    home = Path(os.environ.get("PREFECT_HOME") or Path(workspace).expanduser().resolve() / "prefect")
    if not (home / DATABASE_READY).exists():
        return None
    return RunApiServer({**OFFLINE_ENV, **os.environ, "PREFECT_HOME": str(home)})


def start_run_api_server() -> RunApiServer | None:
    """Give this run a Prefect API server of its own (see `launch_ephemeral_api`) and point
    `PREFECT_API_URL` at it; nothing when `PREFECT_API_URL` is already set (a real server).
    Call before Prefect is imported, then `.ready()` before the first flow. The server is stopped
    at exit, after Prefect's own exit hooks (registered later, so run earlier) have flushed their
    logs and events, and is killed by the kernel if this process is killed. Returns the server, or None."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    return RunApiServer()


@contextmanager
def run_settings(api_url: str | None) -> Iterator[None]:
    """Prefect settings of a run on its own API server (`api_url`; nothing changed when None):
    that URL, and no flow-run heartbeats. Heartbeats tell a long-lived server that a run is alive;
    nothing watches a server that lives only as long as this run, and each flow run waits up to
    1 s at its end for the heartbeat thread (measured: ~1 s of every stage subflow's ~1.5 s)."""
    if api_url is None:
        yield
        return
    from prefect.context import SettingsContext, get_settings_context

    context = get_settings_context()
    settings = context.settings.model_copy(deep=True)
    settings.api.url = api_url
    settings.flows.heartbeat_frequency = None
    with SettingsContext(profile=context.profile, settings=settings):
        yield


def exit_now(code: int) -> NoReturn:
    """End the process with `code` as Python's own shutdown does (non-daemon threads joined, exit
    hooks run: Prefect's log and event flush, the run's API server stopped; stdio flushed), minus
    the teardown of every imported module, which is seconds with torch, MLflow and Prefect loaded
    (~5 s of a reused `corpusmill run` under load). For the `corpusmill` program only, never in a
    process that goes on (a test calling `main(argv)`)."""
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter calls first at exit
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
