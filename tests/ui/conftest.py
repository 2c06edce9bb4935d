"""A workspace made by one tiny pipeline run, the Prefect server and MLflow UI over it on free
ports, and a headless Debian chromium (driven by playwright) that may reach only loopback hosts.

Screenshots go to `workspace/ui-screenshots/` (git-ignored; `$CORPUSMILL_UI_SCREENSHOTS` overrides).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.flows.tiny_config import write_tiny_config
from tests.servers import free_port, wait_http

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
PIPELINE = "demo-reviews"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder for the screenshots a person (or CI) looks at."""
    folder = Path(os.environ.get("CORPUSMILL_UI_SCREENSHOTS", REPO / "workspace" / "ui-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def ui_workspace(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`corpusmill run demo-reviews` (tiny) into a fresh workspace, in a child process with the
    CLI's own environment (its PREFECT_HOME and MLflow store, as `make run` does)."""
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is absent: .ci/run installs it (apt-get install chromium fonts-wqy-zenhei)")
    root = tmp_path_factory.mktemp("ui")
    config = write_tiny_config(root)
    workspace = root / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_TRACKING_URI", "CORPUSMILL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "corpusmill.cli", "run", PIPELINE, "--config", str(config), "--workspace", str(workspace)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"root": root, "config": config, "ws": workspace, "env": env, "summary": done.stdout}


@pytest.fixture(scope="session")
def servers(ui_workspace: dict) -> Iterator[dict]:
    """The Prefect server and the MLflow UI over the workspace, on free loopback ports."""
    from corpusmill import services
    from corpusmill.workspace import Workspace

    ws = Workspace.at(ui_workspace["ws"])
    env = ws.environment()
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PREFECT_")}
    prefect_port, mlflow_port = free_port(), free_port()
    processes = [services.start_prefect_server(env, prefect_port), services.start_mlflow_ui(ws, env, mlflow_port)]
    try:
        prefect = f"http://127.0.0.1:{prefect_port}"
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        wait_http(f"{prefect}/api/health", processes[0])
        wait_http(f"{mlflow_url}/health", processes[1])
        yield {"prefect": prefect, "mlflow": mlflow_url, "tracking_uri": env["MLFLOW_TRACKING_URI"]}
    finally:
        services.stop(processes)
        os.environ.update(saved)


@pytest.fixture(scope="session")
def outside_requests() -> list[str]:
    """Every non-loopback URL a page asked for (each one was aborted)."""
    return []


@pytest.fixture(scope="session")
def browser_context(servers: dict, outside_requests: list[str]) -> Iterator:
    """A chromium context whose requests to any host but loopback are aborted and recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})

        def route(route_, request) -> None:
            host = urlsplit(request.url).hostname or ""
            if request.url.startswith(("data:", "blob:", "file:")) or host in LOOPBACK:
                route_.continue_()
            else:
                outside_requests.append(request.url)
                route_.abort()

        context.route("**/*", route)
        try:
            yield context
        finally:
            context.close()
            browser.close()
