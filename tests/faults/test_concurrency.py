"""Two runs at once, two registrations at once, and `kill -9` of the main process (issue 9,
findings 2, 3 and 7): one consistent result, and no child process left running."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from pathlib import Path

import psutil
import pytest

from tasks.common.locks import hold, read_label
from tests.faults.harness import PIPELINE, REGISTERED, Cli, child_environment, fingerprint, registry, run_cli, tiny_config


def _listening_children(pid: int) -> list[psutil.Process]:
    """Descendants of `pid` that listen on a TCP port (the run's Prefect API server)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if any(c.status == psutil.CONN_LISTEN for c in child.net_connections(kind="tcp")):
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_two_cold_runs_at_once_and_kill_9_of_the_holder(tmp_path: Path, reference: Path) -> None:
    """Two runs of one pipeline start at once on a cold workspace (each with its own Prefect API
    server; one sets up Prefect's database, the other waits for it). One holds the pipeline's lock,
    the other waits, naming it. The holder's main process gets `kill -9` (only it, at a moment set
    by timing: once the clean stage has begun): its API server dies with it, the waiter takes the
    stale lock over, finishes, and its outputs match an uninterrupted run."""
    config = tiny_config(tmp_path)
    ws = tmp_path / "ws"
    lock = ws / "locks" / f"pipeline-{PIPELINE}.lock"
    runs = [Cli.start(config, child_environment(None), name=f"run{i}") for i in (1, 2)]
    try:
        holder: list[Cli] = []
        servers: list[psutil.Process] = []

        def ready() -> bool:
            label = read_label(lock) or {}
            holder[:] = [r for r in runs if r.process.pid == label.get("pid")]
            if not holder:
                return False
            waiter = next(r for r in runs if r is not holder[0])
            servers[:] = servers or _listening_children(holder[0].process.pid)
            return bool(servers) and "waiting for" in waiter.output() and (ws / "data" / PIPELINE / "clean").exists()

        assert runs[0].wait_for(ready) and runs[1].process.poll() is None, [r.output()[-2000:] for r in runs]
        os.kill(holder[0].process.pid, signal.SIGKILL)  # the main process only, as `kill -9 <pid>` does
        holder[0].process.wait()
        _, alive = psutil.wait_procs(servers, timeout=120)
        assert not alive, f"orphaned Prefect API server still running: {[p.pid for p in alive]}"
        waiter = next(r for r in runs if r is not holder[0])
        assert waiter.wait() == 0, waiter.output()[-3000:]
    finally:
        for run in runs:
            run.kill_group()
    out = waiter.output()
    assert f"held by pid {holder[0].process.pid}" in out and "no longer runs; taking over" in out
    assert fingerprint(ws) == fingerprint(reference)
    reg = registry(ws)
    assert reg["versions"] == {"1": ["champion"]} and len(reg["alias_log"]) == 1
    assert "RUNNING" not in reg["runs"].values()


def test_no_wait_fails_at_once_naming_the_holder(tmp_path: Path, prefect_api: str) -> None:
    config = tiny_config(tmp_path)
    with hold(tmp_path / "ws" / "locks" / f"pipeline-{PIPELINE}.lock", command="a test holding the lock"):
        code, out = run_cli(config, child_environment(prefect_api), "--no-wait")
    assert code == 3
    assert f"another run holds the workspace: {tmp_path / 'ws' / 'locks'}" in out
    assert f"held by pid {os.getpid()}" in out and "a test holding the lock" in out
    assert "Traceback" not in out


@pytest.fixture()
def unregistered(reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the reference workspace without its registered model and alias log (the trained and
    evaluated model stays): ready to be registered again. The copy's MLflow runs and training record
    still name the reference's artifact folder and bundle, which registering only reads or adds to."""
    tiny_config(tmp_path)
    ws = tmp_path / "ws"
    shutil.copytree(reference, ws, ignore=shutil.ignore_patterns("locks", "prefect"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{ws / 'mlflow.db'}")
    registry(ws)["client"].delete_registered_model(REGISTERED)
    (ws / "registry" / "alias_log.jsonl").unlink()
    return ws


def _register_job(ws: Path):
    from corpusmill.config import load_config
    from corpusmill.workspace import Workspace
    from tasks.register.prefect_tasks import RegisterJob

    pipeline = load_config(str(ws.parent / "pipelines.yaml")).pipeline(PIPELINE)
    space = Workspace.at(ws)
    return RegisterJob(
        pipeline=PIPELINE,
        model_name="sentiment",
        registered_name=REGISTERED,
        description="",
        model=pipeline.models["sentiment"],
        model_dir=str(space.model_dir(PIPELINE, "sentiment")),
        stage_uris={
            stage: space.stage_uri(PIPELINE, path)
            for stage, path in (("clean", "clean"), ("audit", "audit"), ("tokens", "tokens"), ("evaluate", "evaluate/sentiment"))
        },
        registry=pipeline.registry,
        evaluate=pipeline.evaluate,
        alias_log=str(space.alias_log),
    )


def test_two_registrations_at_once_make_one_version_and_a_lost_alias_is_restored(unregistered: Path) -> None:
    from tasks.register.prefect_tasks import register_one

    job = _register_job(unregistered)
    outcomes, errors = [], []

    def register() -> None:  # in threads: no CLI lock around them, only the registration's own
        try:
            outcomes.append(register_one(job))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    reg = registry(unregistered)
    assert reg["versions"] == {"1": ["champion"]} and len(reg["alias_log"]) == 1
    assert sorted(o.reused for o in outcomes) == [False, True]

    # a version left as the old code left it when killed before the alias: no state, no alias, no log line
    client = reg["client"]
    client.delete_model_version_tag(REGISTERED, "1", "registration_state")
    client.delete_registered_model_alias(REGISTERED, "champion")
    (unregistered / "registry" / "alias_log.jsonl").unlink()
    again = register_one(job)
    assert (again.version, again.alias, again.reused) == ("1", "champion", False)
    assert registry(unregistered)["versions"] == {"1": ["champion"]}


def test_a_duplicate_version_of_one_training_deletes_itself(unregistered: Path) -> None:
    """Clients of one MLflow server share no lock file: the later version of a training gives way."""
    from tasks.register.recovery import keep_lowest

    client = registry(unregistered)["client"]
    client.create_registered_model(REGISTERED)
    first = client.create_model_version(REGISTERED, "file:///nothing", tags={"train_cache_key": "k"})
    second = client.create_model_version(REGISTERED, "file:///nothing", tags={"train_cache_key": "k"})
    first, second = str(first.version), str(second.version)
    assert keep_lowest(client, REGISTERED, "k", second) == first
    assert keep_lowest(client, REGISTERED, "k", first) == first
    assert [str(v.version) for v in client.search_model_versions(f"name = '{REGISTERED}'")] == [first]
