"""Real servers for integration tests: PostgreSQL databases, a Prefect server, an MLflow server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_http

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[dict[str, str]]:
    """Two fresh PostgreSQL databases (Prefect's and MLflow's) on 127.0.0.1:5432, dropped afterwards."""
    import psycopg2

    try:
        admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} (.ci/run starts it): {error}")
    admin.autocommit = True
    suffix = uuid.uuid4().hex[:8]
    names = {"prefect": f"cm_it_prefect_{suffix}", "mlflow": f"cm_it_mlflow_{suffix}"}
    with admin.cursor() as cursor:
        for name in names.values():
            cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield names
    finally:
        with admin.cursor() as cursor:
            for name in names.values():
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="session")
def servers(postgres_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Prefect server and a real MLflow server (artifacts served over HTTP), both on PostgreSQL."""
    root = tmp_path_factory.mktemp("servers")
    prefect_port, mlflow_port = free_port(), free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect"),
        "DO_NOT_TRACK": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{postgres_databases['prefect']}",
    }
    env.pop("PREFECT_API_URL", None)
    logs = {name: root / f"{name}.log" for name in ("prefect", "mlflow")}
    prefect = subprocess.Popen(
        [_bin("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)],
        env=env,
        stdout=logs["prefect"].open("w"),
        stderr=subprocess.STDOUT,
    )
    mlflow = subprocess.Popen(
        [
            _bin("mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
            "--backend-store-uri",
            f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{postgres_databases['mlflow']}",
            "--artifacts-destination",
            str(root / "mlartifacts"),
            "--workers",
            "1",
        ],
        env=env,
        stdout=logs["mlflow"].open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{prefect_port}/api/health", prefect, 180, logs["prefect"])
        wait_http(f"http://127.0.0.1:{mlflow_port}/health", mlflow, 180, logs["mlflow"])
        yield {"prefect_api": f"http://127.0.0.1:{prefect_port}/api", "mlflow": f"http://127.0.0.1:{mlflow_port}", "root": str(root)}
    finally:
        for process in (prefect, mlflow):
            process.terminate()
        for process in (prefect, mlflow):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
