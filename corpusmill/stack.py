"""`corpusmill stack up|down|status`: the production stack as local processes, state in one folder.

    <state>/state.json    the running services: process group, ports, URLs (gone after `down`)
    <state>/env           `export` lines a client sources (`. workspace/stack/env`), mode 0600
    <state>/secrets.json  S3 keys and MLflow admin password when not given in the environment
    <state>/logs/<service>.log, <state>/seaweedfs/ (object data), <state>/prefect-*/ (PREFECT_HOME)

Each service runs in its own process group; `down` terminates the groups (then kills what is
left) and checks that none of the stack's ports still accepts connections.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from corpusmill import stack_services as sv
from corpusmill.stack_services import StackSettings


@dataclass
class Service:
    """One process of the stack: its command line, extra environment, ports and health check."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ports: list[int]
    health_url: str | None = None
    grace_s: float = 10.0
    cwd: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _resolve_ports(s: StackSettings) -> StackSettings:
    ports = {k: sv.free_port(s.host) for k in ("prefect_port", "mlflow_port", "s3_port", "dask_port") if getattr(s, k) == 0}
    return s.model_copy(update=ports)


def _pythonpath() -> str:
    return os.pathsep.join(p for p in (str(sv.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)


def build_services(s: StackSettings, keys: dict[str, str], state: Path) -> list[Service]:
    """The stack's processes in start order (S3, Prefect server, MLflow, Dask, Prefect worker)."""
    h, pg = s.host, s.postgres_url
    client = {**sv.client_env(s, keys), "PYTHONPATH": _pythonpath()}
    weed = [sv.free_port(h) for _ in range(7)]
    services = [
        Service(
            "seaweedfs",
            [
                sv.bin_path("weed"),
                "server",
                f"-ip={h}",
                f"-ip.bind={h}",
                f"-dir={state / 'seaweedfs'}",
                f"-master.port={weed[0]}",
                f"-master.port.grpc={weed[1]}",
                f"-volume.port={weed[2]}",
                f"-volume.port.grpc={weed[3]}",
                f"-filer.port={weed[4]}",
                f"-filer.port.grpc={weed[5]}",
                "-s3",
                f"-s3.port={s.s3_port}",
                f"-s3.port.grpc={weed[6]}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                f"-s3.config={state / 's3.json'}",
                "-master.volumeSizeLimitMB=256",
                "-volume.max=0",
                "-volume.preStopSeconds=0",
                "-metricsPort=0",
            ],
            {},
            [s.s3_port, *weed],
            grace_s=5.0,
        ),
        Service(
            "prefect-server",
            [sv.bin_path("prefect"), "server", "start", "--host", h, "--port", str(s.prefect_port)],
            {
                "PREFECT_HOME": str(state / "prefect-server"),
                "PREFECT_API_DATABASE_CONNECTION_URL": f"{pg.replace('postgresql://', 'postgresql+asyncpg://')}/{s.prefect_db}",
                "PREFECT_UI_API_URL": f"http://{h}:{s.prefect_port}/api",
            },
            [s.prefect_port],
            health_url=f"http://{h}:{s.prefect_port}/api/health",
        ),
        Service(
            "mlflow",
            [
                sv.bin_path("mlflow"),
                "server",
                "--app-name",
                "basic-auth",
                "--backend-store-uri",
                f"{pg.replace('postgresql://', 'postgresql+psycopg2://')}/{s.mlflow_db}",
                "--artifacts-destination",
                f"s3://{s.bucket}/mlflow",
                "--host",
                h,
                "--port",
                str(s.mlflow_port),
                "--workers",
                "1",
            ],
            {
                "MLFLOW_AUTH_CONFIG_PATH": str(state / "mlflow_auth.ini"),
                "MLFLOW_AUTH_ADMIN_PASSWORD": keys["mlflow_password"],
                "MLFLOW_FLASK_SERVER_SECRET_KEY": keys["mlflow_flask_secret"],
                **{k: client[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")},
            },
            [s.mlflow_port],
            health_url=f"http://{h}:{s.mlflow_port}/health",
        ),
        Service("dask-scheduler", [sv.bin_path("dask"), "scheduler", "--host", h, "--port", str(s.dask_port), "--no-dashboard"], client, [s.dask_port]),
    ]
    for i in range(1, s.dask_workers + 1):
        services.append(
            Service(
                f"dask-worker-{i}",
                [
                    sv.bin_path("dask"),
                    "worker",
                    f"tcp://{h}:{s.dask_port}",
                    "--name",
                    f"dask-worker-{i}",
                    "--host",
                    h,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(state / f"dask-worker-{i}"),
                ],
                client,
                [],
            )
        )
    services.append(
        Service(
            "prefect-worker",
            [sv.bin_path("prefect"), "worker", "start", "--pool", s.work_pool, "--type", "process", "--name", "corpusmill-worker"],
            {**client, "PREFECT_HOME": str(state / "prefect-worker")},
            [],
            cwd=sv.REPO_ROOT,
        )
    )
    return services


def _start(service: Service, state: Path) -> subprocess.Popen[bytes]:
    log = open(state / "logs" / f"{service.name}.log", "ab")  # handed to the child
    try:
        return subprocess.Popen(
            service.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **service.env},
            cwd=service.cwd or state,
            start_new_session=True,
        )
    finally:
        log.close()


def _save_state(state: Path, data: dict) -> None:
    sv.write_private(state / "state.json", json.dumps(data, indent=2))


def read_state(state_dir: Path) -> dict | None:
    """The running stack's record (`state.json`), or None when no stack is up there."""
    path = Path(state_dir) / "state.json"
    return json.loads(path.read_text()) if path.exists() else None


def up(s: StackSettings, out=print) -> dict:
    """Start every service, wait until each is healthy, create the bucket, the work pool (by the
    worker) and the deployments; write `<state>/env`. Returns the state record. On any failure the
    services already started are stopped again and the error is raised."""
    state = s.state_dir.resolve()
    if (old := read_state(state)) is not None and any(_group_alive(x["pgid"]) for x in old["services"].values()):
        raise RuntimeError(f"a stack is already up in {state}; run `corpusmill stack down` first")
    for folder in ("logs", "seaweedfs"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    s = _resolve_ports(s.model_copy(update={"state_dir": state}))
    keys = sv.secrets_for(state)
    sv.ensure_databases(s.postgres_url, [s.prefect_db, s.mlflow_db])
    sv.write_private(state / "s3.json", sv.s3_identities(keys))
    sv.write_private(state / "mlflow_auth.ini", sv.mlflow_auth_ini(s))
    env = sv.client_env(s, keys)
    record = {"settings": s.model_dump(mode="json"), "services": {}, "urls": urls(s)}
    started: dict[str, subprocess.Popen[bytes]] = {}

    def launch(service: Service) -> None:
        started[service.name] = process = _start(service, state)
        record["services"][service.name] = {
            "pid": process.pid,
            "pgid": process.pid,
            "ports": service.ports,
            "health_url": service.health_url,
            "grace_s": service.grace_s,
        }
        _save_state(state, record)

    try:
        services = build_services(s, keys, state)
        t0 = time.time()
        for service in services[:4]:  # S3, Prefect server, MLflow, Dask scheduler start together
            launch(service)
        for service in services[:4]:
            _wait_healthy(service, started[service.name], state, s.host)
        _create_bucket(s, keys)
        for service in services[4:]:
            launch(service)
        _wait_dask_workers(env["CORPUSMILL_DASK_ADDRESS"], s.dask_workers, started, state)
        _wait_worker_online(s, started["prefect-worker"], state)
        out(f"services healthy in {time.time() - t0:.0f} s")
        write_env_file(state / "env", env)
        if s.deploy:
            deploy(s, env, out)
    except BaseException:
        down(state, out=lambda *_: None, processes=started)
        raise
    for name, url in record["urls"].items():
        out(f"{name:16} {url}")
    out(f"client environment: . {state / 'env'}")
    return record


def urls(s: StackSettings) -> dict[str, str]:
    """The URLs people and clients use."""
    return {
        "prefect": f"http://{s.host}:{s.prefect_port}",
        "mlflow": f"http://{s.host}:{s.mlflow_port}",
        "s3": f"http://{s.host}:{s.s3_port} (bucket {s.bucket})",
        "dask": f"tcp://{s.host}:{s.dask_port}",
    }


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """`export KEY='value'` lines (mode 0600: it holds credentials)."""
    sv.write_private(path, "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))


def deploy(s: StackSettings, env: dict[str, str], out=print) -> None:
    """Register the deployments of `s.config` on the work pool, flows loaded from the repository."""
    argv = [
        sys.executable,
        "-m",
        "corpusmill.stack_deploy",
        "--config",
        str(Path(s.config).resolve()),
        "--workspace",
        str(Path(s.workspace).resolve()),
        "--pool",
        s.work_pool,
        "--source",
        str(sv.REPO_ROOT),
    ]
    done = subprocess.run(argv, env={**os.environ, **env, "PYTHONPATH": _pythonpath()}, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"deploying {s.config} failed:\n{done.stderr[-3000:]}")
    out(done.stdout.strip())


def _wait_healthy(service: Service, process: subprocess.Popen[bytes], state: Path, host: str) -> None:
    log = state / "logs" / f"{service.name}.log"

    def ok() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {process.returncode}; see {log}")
        if service.health_url:
            return sv.http_status(service.health_url) == 200
        return sv.port_open(service.ports[0], host)

    sv.wait_until(ok, service.name, 180, log)


def _create_bucket(s: StackSettings, keys: dict[str, str]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{s.host}:{s.s3_port}",
        region_name="us-east-1",
        aws_access_key_id=keys["s3_access_key"],
        aws_secret_access_key=keys["s3_secret_key"],
    )

    def made() -> bool:
        try:
            if s.bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=s.bucket)
            return True
        except Exception:  # the filer behind the S3 port may still be starting
            return False

    sv.wait_until(made, f"bucket {s.bucket}", 60, s.state_dir / "logs" / "seaweedfs.log")


def _wait_dask_workers(address: str, n: int, started: dict, state: Path) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(n, timeout=120)
        client.get_task_stream(count=1)  # installs the scheduler's task stream: `status` reports it


def _wait_worker_online(s: StackSettings, process: subprocess.Popen[bytes], state: Path) -> None:
    url = f"http://{s.host}:{s.prefect_port}/api/work_pools/{s.work_pool}/workers/filter"

    def online() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"prefect-worker exited; see {state / 'logs' / 'prefect-worker.log'}")
        return any(w.get("status") == "ONLINE" for w in _post_json(url, {}))

    sv.wait_until(online, "prefect-worker", 120, state / "logs" / "prefect-worker.log")


def _post_json(url: str, body: dict) -> list | dict:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError):
        return []


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def down(state_dir: Path, out=print, processes: dict | None = None, drop_databases: bool = False) -> list[str]:
    """Stop every service group (SIGTERM, then SIGKILL after its grace time), reap our children,
    check that no stack port still answers; returns the problems found (empty when clean)."""
    state = Path(state_dir).resolve()
    record = read_state(state)
    if record is None:
        out(f"no stack state in {state}")
        return []
    services = record["services"]
    for name in reversed(list(services)):
        try:
            os.killpg(services[name]["pgid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = {n: time.time() + x.get("grace_s", 10) for n, x in services.items()}
    while any(_group_alive(x["pgid"]) for x in services.values()):
        for name, x in services.items():
            if time.time() > deadline[name] and _group_alive(x["pgid"]):
                os.killpg(x["pgid"], signal.SIGKILL)
        for process in (processes or {}).values():
            process.poll()  # reap children of this process (zombies still count as group members)
        time.sleep(0.2)
    host = record["settings"]["host"]
    ports = [p for x in services.values() for p in x["ports"]]
    sv.wait_until(lambda: not any(sv.port_open(p, host) for p in ports), "ports closing", 15)
    problems = [f"port {p} still open" for p in ports if sv.port_open(p, host)]
    if drop_databases:
        settings = record["settings"]
        sv.drop_databases(settings["postgres_url"], [settings["prefect_db"], settings["mlflow_db"]])
    (state / "state.json").unlink()
    out(f"stack in {state} stopped ({len(services)} services); " + ("; ".join(problems) or "no port left open"))
    return problems


def status(state_dir: Path, out=print) -> dict[str, str]:
    """Per service: running / stopped, and healthy / not; prints them and the URLs."""
    record = read_state(Path(state_dir).resolve())
    if record is None:
        out(f"no stack in {Path(state_dir).resolve()}")
        return {}
    report = {}
    for name, x in record["services"].items():
        alive = _group_alive(x["pgid"])
        healthy = sv.http_status(x["health_url"]) == 200 if x["health_url"] else all(sv.port_open(p, record["settings"]["host"]) for p in x["ports"][:1])
        report[name] = "healthy" if alive and healthy else ("running" if alive else "stopped")
        out(f"{name:16} pid {x['pid']:<8} {report[name]}")
    for name, url in record["urls"].items():
        out(f"{name:16} {url}")
    return report
