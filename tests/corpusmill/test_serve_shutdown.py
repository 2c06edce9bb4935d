"""`corpusmill serve` prints a command that works from another terminal, and one Ctrl-C stops
serving, then the Prefect server it started, without a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import free_port

from tests.flows.tiny_config import write_tiny_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_serve_prints_a_working_command_and_stops_on_one_ctrl_c(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_TRACKING_URI"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:  # a terminal's foreground group: SIGINT to the group is Ctrl-C
        serve = subprocess.Popen(
            [sys.executable, "-m", "corpusmill.cli", "serve", "--config", str(config), "--workspace", str(tmp_path / "ws"), "--prefect-port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        command = None
        deadline = time.time() + 240
        while command is None and time.time() < deadline and serve.poll() is None:
            lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
            command = next((line for line in lines if line.startswith("PREFECT_API_URL=")), None)
            time.sleep(1)
        assert command, log.read_text()[-3000:]
        assert command == f"PREFECT_API_URL=http://127.0.0.1:{port}/api prefect deployment run 'corpus-to-model/demo-reviews'"
        api = command.split()[0].split("=", 1)[1]
        other_terminal = {**env, "PREFECT_API_URL": api}
        found = subprocess.run(
            [str(Path(sys.executable).with_name("prefect")), "deployment", "inspect", "corpus-to-model/demo-reviews"],
            env=other_terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert found.returncode == 0, found.stdout + found.stderr
        os.killpg(serve.pid, signal.SIGINT)
        serve.wait(timeout=90)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    text = log.read_text(errors="replace")
    assert serve.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert not _port_open(port), "the Prefect server started by serve is still running"
