"""Fixtures of the fault-injection suite (helpers in `tests.faults.harness`): one Prefect API
server for the session, and one uninterrupted reference run of the tiny config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import WAIT_S, child_environment, run_cli, tiny_config


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect API server (SQLite in a temp PREFECT_HOME) for the runs that do not test
    Prefect's own start-up: saves each run the database set-up and a server start."""
    from corpusmill.processes import start_ephemeral_api, stop_process

    home = tmp_path_factory.mktemp("prefect-home")
    env = child_environment(None, PREFECT_HOME=str(home))
    process, url = start_ephemeral_api(timeout=WAIT_S, environ=env)
    yield url
    stop_process(process)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Path:
    """The workspace of one uninterrupted run of the tiny config (shared by the whole session)."""
    config = tiny_config(tmp_path_factory.mktemp("reference"))
    code, out = run_cli(config, child_environment(prefect_api))
    assert code == 0, out[-3000:]
    return config.parent / "ws"
