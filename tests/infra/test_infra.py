"""infra/: compose and Kubernetes files checked statically (no docker daemon, no cluster, no network)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from corpusmill.config import load_config
from corpusmill.stack_services import StackSettings, client_env

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
K8S = INFRA / "k8s"
DEMO_PIPELINES = ["demo-reviews", "demo-news", "demo-shop"]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}
SETTINGS = StackSettings()  # the local stack's names and ports: compose and k8s use the same


def expand_defaults(text: str) -> str:
    """`${VAR:-default}` -> `default`: the value compose uses when nothing is set."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(expand_defaults((INFRA / "compose.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def k8s_docs() -> list[dict]:
    """Every document of every manifest kustomization.yaml lists."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]
    return docs


def workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] in WORKLOAD_KINDS]


def containers(docs: list[dict]) -> list[dict]:
    return [c for w in workloads(docs) for c in w["spec"]["template"]["spec"]["containers"]]


def k8s_env(docs: list[dict], workload: str) -> dict[str, str]:
    """Literal env values of a workload's first container (secret refs left out)."""
    doc = next(d for d in workloads(docs) if d["metadata"]["name"] == workload)
    env = doc["spec"]["template"]["spec"]["containers"][0].get("env", [])
    return {e["name"]: e["value"] for e in env if "value" in e}


# ---- every YAML file -------------------------------------------------------------------------


def test_every_yaml_file_under_infra_parses():
    files = sorted(INFRA.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        assert docs, f"{path} holds no YAML document"


# ---- compose ---------------------------------------------------------------------------------


def test_compose_defines_the_expected_services(services: dict):
    expected = {
        "postgres",
        "seaweedfs",
        "seaweedfs-setup",
        "prefect-server",
        "mlflow",
        "dask-scheduler",
        "dask-worker",
        "prefect-worker",
        "corpusmill-deploy",
        "corpusmill-serve",
        "corpusmill-run",
    }
    assert expected <= set(services)


def test_compose_has_no_version_key(compose: dict):
    assert "version" not in compose


def test_compose_depends_on_names_defined_services(services: dict):
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on undefined service {dependency}"


def test_optional_services_sit_behind_profiles(services: dict):
    assert services["corpusmill-run"]["profiles"] == ["run"]
    assert services["corpusmill-serve"]["profiles"] == ["serve"]
    for name in ("prefect-worker", "dask-scheduler", "dask-worker", "seaweedfs", "mlflow"):
        assert "profiles" not in services[name], name


def test_prefect_server_runs_on_the_stacks_postgres_database(services: dict):
    prefect = services["prefect-server"]
    assert prefect["image"] == "corpusmill:latest"
    assert prefect["command"] == "prefect server start --host 0.0.0.0"
    url = urlsplit(prefect["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"])
    assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql+asyncpg", "postgres", 5432, f"/{SETTINGS.prefect_db}")
    assert prefect["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_mlflow_has_basic_auth_postgres_and_artifacts_on_seaweedfs(services: dict):
    mlflow = services["mlflow"]
    script = mlflow["command"][0]
    assert "--app-name basic-auth" in script
    assert f"--artifacts-destination s3://{SETTINGS.bucket}/mlflow" in script
    store = urlsplit(mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"])
    assert (store.scheme, store.hostname, store.port, store.path) == ("postgresql+psycopg2", "postgres", 5432, f"/{SETTINGS.mlflow_db}")
    assert mlflow["environment"]["MLFLOW_AUTH_ADMIN_PASSWORD"] == mlflow["environment"]["MLFLOW_TRACKING_PASSWORD"]
    assert mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
    assert mlflow["depends_on"]["seaweedfs-setup"]["condition"] == "service_completed_successfully"


def test_seaweedfs_serves_s3_on_the_stacks_port_with_one_identity(services: dict):
    script = services["seaweedfs"]["command"][0]
    assert "weed server" in script and f"-s3.port={SETTINGS.s3_port}" in script and "-s3.config=/tmp/s3.json" in script
    assert f'"{SETTINGS.bucket}"' in services["seaweedfs-setup"]["command"][2]


def test_clients_get_the_same_environment_as_the_local_stack(services: dict):
    local = client_env(StackSettings(), {"mlflow_password": "p", "s3_access_key": "a", "s3_secret_key": "s"})
    for name in ("prefect-worker", "corpusmill-run", "corpusmill-serve", "dask-worker", "corpusmill-deploy"):
        env = services[name]["environment"]
        assert set(local) <= set(env), (name, set(local) - set(env))
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api", name
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000", name
        assert env["FSSPEC_S3_ENDPOINT_URL"] == "http://seaweedfs:8333", name
        assert env["CORPUSMILL_DASK_ADDRESS"] == "tcp://dask-scheduler:8786", name
        assert env["HF_HUB_OFFLINE"] == "1" and env["DO_NOT_TRACK"] == "true", name
    for name in ("prefect-worker", "corpusmill-run", "dask-worker"):
        assert "workspace:/data/workspace" in services[name]["volumes"], name
    assert services["prefect-worker"]["command"][:5] == ["prefect", "worker", "start", "--pool", SETTINGS.work_pool]
    assert services["corpusmill-run"]["command"] == ["corpusmill", "run", "--config", "/app/infra/pipelines.stack.yaml"]


def test_init_sql_creates_both_databases(k8s_docs: list[dict]):
    sql = (INFRA / "postgres" / "init.sql").read_text(encoding="utf-8")
    statements = f"CREATE DATABASE {SETTINGS.prefect_db};\nCREATE DATABASE {SETTINGS.mlflow_db};\n"
    assert statements in sql
    init = next(d for d in k8s_docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "postgres-init")
    assert init["data"]["init.sql"] == statements


def test_dockerfile_installs_cpu_torch_and_the_stack_extra():
    dockerfile = (INFRA / "Dockerfile").read_text(encoding="utf-8")
    assert 'pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu' in dockerfile
    assert 'pip install ".[stack]"' in dockerfile
    assert 'CMD ["prefect", "worker", "start", "--pool", "corpusmill", "--type", "process"]' in dockerfile
    ignored = (INFRA / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "workspace"} <= set(ignored)


# ---- kubernetes ------------------------------------------------------------------------------


def test_every_k8s_document_has_apiversion_kind_and_name(k8s_docs: list[dict]):
    assert len(k8s_docs) >= 15
    for doc in k8s_docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), doc


def test_kustomization_lists_existing_files_and_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"]) | set(kustomization["configMapGenerator"][0]["files"])
    for name in listed:
        assert (K8S / name).is_file(), f"kustomization.yaml lists missing {name}"
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed


def test_every_service_selects_a_pod_template(k8s_docs: list[dict]):
    templates = [w["spec"]["template"]["metadata"]["labels"] for w in workloads(k8s_docs)]
    for service in (d for d in k8s_docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in templates), service["metadata"]["name"]


def test_service_target_ports_are_container_ports(k8s_docs: list[dict]):
    for service in (d for d in k8s_docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        pods = [w for w in workloads(k8s_docs) if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        exposed = {p["containerPort"] for w in pods for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in exposed, f"{service['metadata']['name']}: {port}"


def test_probes_hit_the_documented_health_paths(k8s_docs: list[dict]):
    by_name = {c["name"]: c for c in containers(k8s_docs)}
    for probe in ("readinessProbe", "livenessProbe"):
        assert by_name["prefect-server"][probe]["httpGet"] == {"path": "/api/health", "port": 4200}
        assert by_name["mlflow"][probe]["httpGet"] == {"path": "/health", "port": 5000}


def test_every_k8s_container_has_requests_and_limits(k8s_docs: list[dict]):
    for container in containers(k8s_docs):
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]


def test_k8s_servers_use_postgres_and_clients_use_service_names(k8s_docs: list[dict]):
    prefect = urlsplit(k8s_env(k8s_docs, "prefect-server")["PREFECT_API_DATABASE_CONNECTION_URL"])
    assert (prefect.scheme, prefect.hostname, prefect.path) == ("postgresql+asyncpg", "postgres", f"/{SETTINGS.prefect_db}")
    mlflow = next(c for c in containers(k8s_docs) if c["name"] == "mlflow")
    assert "--app-name basic-auth" in mlflow["args"][0]
    store = urlsplit(k8s_env(k8s_docs, "mlflow")["MLFLOW_BACKEND_STORE_URI"])
    assert (store.scheme, store.hostname, store.path) == ("postgresql+psycopg2", "postgres", f"/{SETTINGS.mlflow_db}")
    local = client_env(StackSettings(), {"mlflow_password": "p", "s3_access_key": "a", "s3_secret_key": "s"})
    for workload in ("prefect-worker", "dask-worker", "corpusmill-deploy"):
        doc = next(d for d in workloads(k8s_docs) if d["metadata"]["name"] == workload)
        names = {e["name"] for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert set(local) <= names, (workload, set(local) - names)
        env = k8s_env(k8s_docs, workload)
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        assert env["FSSPEC_S3_ENDPOINT_URL"] == "http://seaweedfs:8333"


# ---- the production config -------------------------------------------------------------------


def test_stack_config_is_valid_and_copies_the_demo_pipelines():
    stack = load_config(INFRA / "pipelines.stack.yaml")
    root = load_config(REPO / "pipelines.yaml")
    assert (stack.workspace, stack.data_uri) == ("workspace", f"s3://{SETTINGS.bucket}/data")
    assert (stack.runner.task_runner, stack.runner.dask_address) == ("dask", f"tcp://127.0.0.1:{SETTINGS.dask_port}")
    assert list(stack.pipelines) == DEMO_PIPELINES
    for name in DEMO_PIPELINES:
        assert stack.pipelines[name].model_dump() == root.pipelines[name].model_dump(), name


def test_k8s_copy_of_the_stack_config_is_byte_identical():
    assert (K8S / "pipelines.stack.yaml").read_bytes() == (INFRA / "pipelines.stack.yaml").read_bytes()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_kubectl_kustomize_renders_every_kind():
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = sorted({d["kind"] for d in docs})
    assert kinds == ["ConfigMap", "Deployment", "Job", "Namespace", "PersistentVolumeClaim", "Secret", "Service", "StatefulSet"]
    assert all(d["metadata"].get("namespace") == "corpusmill" for d in docs if d["kind"] != "Namespace")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("corpusmill-config-"))
    assert config["data"]["pipelines.stack.yaml"] == (INFRA / "pipelines.stack.yaml").read_text(encoding="utf-8")
