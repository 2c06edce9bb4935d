"""The production stack's services as local processes: settings, command lines, health checks.

`corpusmill.stack` starts and stops them; this module only says what each one is:
PostgreSQL databases (the server itself is already running), SeaweedFS (`weed server -s3`),
the Prefect server on PostgreSQL, the MLflow tracking server on PostgreSQL with basic auth and
artifacts proxied to S3, a Dask scheduler with workers, and a Prefect worker on a process pool.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from corpusmill.workspace import OFFLINE_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "CORPUSMILL_STACK_"


class StackSettings(BaseModel):
    """Where the stack keeps its state and which ports, names and databases it uses.

    Every field can be set as `CORPUSMILL_STACK_<FIELD>` in the environment or by a flag of
    `corpusmill stack up`. A port of 0 means: pick a free one at start (tests do this)."""

    state_dir: Path = Path("workspace/stack")
    host: str = "127.0.0.1"
    prefect_port: int = 4200
    mlflow_port: int = 5000
    s3_port: int = 8333
    dask_port: int = 8786
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432"
    prefect_db: str = "corpusmill_prefect"
    mlflow_db: str = "corpusmill_mlflow"
    bucket: str = "corpusmill"
    work_pool: str = "corpusmill"
    dask_workers: int = Field(default=2, ge=1)
    mlflow_user: str = "admin"
    config: Path = REPO_ROOT / "infra" / "pipelines.stack.yaml"
    workspace: Path = Path("workspace")
    deploy: bool = True

    @classmethod
    def from_env(cls, **overrides: object) -> StackSettings:
        """Defaults, then `CORPUSMILL_STACK_*` variables, then `overrides` (flags; None ignored)."""
        values: dict[str, object] = {}
        for name in cls.model_fields:
            if (text := os.environ.get(ENV_PREFIX + name.upper())) is not None:
                values[name] = text
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_status(url: str, auth: tuple[str, str] | None = None, timeout: float = 3.0) -> int:
    """The HTTP status of a GET (0 when nothing answers)."""
    request = urllib.request.Request(url)
    if auth is not None:
        import base64

        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_until(check, what: str, timeout: float, log: Path | None = None) -> None:
    """Poll `check()` until it is true; TimeoutError naming `what` (and its log) otherwise."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.5)
    hint = f"; see {log}" if log is not None else ""
    raise TimeoutError(f"{what} not healthy within {timeout:.0f} s{hint}")


def secrets_for(state_dir: Path) -> dict[str, str]:
    """S3 keys and the MLflow admin password: from the environment (`CORPUSMILL_S3_ACCESS_KEY`,
    `CORPUSMILL_S3_SECRET_KEY`, `CORPUSMILL_MLFLOW_PASSWORD`), else generated once and kept in
    `<state>/secrets.json` (mode 0600), so a restarted stack keeps its credentials."""
    path = state_dir / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    values = {
        "s3_access_key": os.environ.get("CORPUSMILL_S3_ACCESS_KEY") or stored.get("s3_access_key") or "corpusmill",
        "s3_secret_key": os.environ.get("CORPUSMILL_S3_SECRET_KEY") or stored.get("s3_secret_key") or secrets.token_urlsafe(24),
        "mlflow_password": os.environ.get("CORPUSMILL_MLFLOW_PASSWORD") or stored.get("mlflow_password") or secrets.token_urlsafe(18),
        "mlflow_flask_secret": stored.get("mlflow_flask_secret") or secrets.token_urlsafe(32),  # CSRF key
    }
    write_private(path, json.dumps(values, indent=2))
    return values


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by the owner only (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)


@contextmanager
def _admin_cursor(postgres_url: str) -> Iterator[Any]:
    """An autocommit cursor on the server's `postgres` database (CREATE/DROP DATABASE need one)."""
    import psycopg2

    conn = psycopg2.connect(f"{postgres_url}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def ensure_databases(postgres_url: str, names: list[str]) -> None:
    """Create the PostgreSQL databases that do not exist yet."""
    with _admin_cursor(postgres_url) as cur:
        for name in names:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')


def drop_databases(postgres_url: str, names: list[str]) -> None:
    """Drop the PostgreSQL databases (used by tests for their uniquely named ones)."""
    with _admin_cursor(postgres_url) as cur:
        for name in names:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bin_path(name: str) -> str:
    """A console script of this Python environment (the venv that runs corpusmill)."""
    return str(Path(sys.executable).with_name(name))


def client_env(s: StackSettings, keys: dict[str, str]) -> dict[str, str]:
    """What a client of the stack (the CLI, the Prefect worker, Dask workers) needs to reach it."""
    s3 = f"http://{s.host}:{s.s3_port}"
    return {
        **OFFLINE_ENV,
        "PREFECT_API_URL": f"http://{s.host}:{s.prefect_port}/api",
        "MLFLOW_TRACKING_URI": f"http://{s.host}:{s.mlflow_port}",
        "MLFLOW_TRACKING_USERNAME": s.mlflow_user,
        "MLFLOW_TRACKING_PASSWORD": keys["mlflow_password"],
        "AWS_ACCESS_KEY_ID": keys["s3_access_key"],
        "AWS_SECRET_ACCESS_KEY": keys["s3_secret_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3,
        "MLFLOW_S3_ENDPOINT_URL": s3,
        "FSSPEC_S3_ENDPOINT_URL": s3,
        "CORPUSMILL_DASK_ADDRESS": f"tcp://{s.host}:{s.dask_port}",
    }


def s3_identities(keys: dict[str, str]) -> str:
    """SeaweedFS S3 identities config: one identity with all rights; anonymous access refused."""
    return json.dumps(
        {
            "identities": [
                {
                    "name": "corpusmill",
                    "credentials": [{"accessKey": keys["s3_access_key"], "secretKey": keys["s3_secret_key"]}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        },
        indent=2,
    )


def mlflow_auth_ini(s: StackSettings) -> str:
    """MLflow basic-auth config: users in the MLflow database; the admin password comes from
    MLFLOW_AUTH_ADMIN_PASSWORD in the server's environment, never from this file."""
    return (
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = {s.postgres_url.replace('postgresql://', 'postgresql+psycopg2://')}/{s.mlflow_db}\n"
        f"admin_username = {s.mlflow_user}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # Without a cache every request re-hashes the password (PBKDF2, ~1 s of CPU on a busy
        # machine): an artifact download of ~100 files took minutes.
        "auth_cache_ttl_seconds = 60\n"
    )
