"""Retries of storage shard tasks: transient errors are retried by Prefect, deterministic ones fail
at once. Real Prefect flows run a real shard task over an fsspec filesystem that fails on purpose."""

from __future__ import annotations

import errno
import gzip
import json
from pathlib import Path
from uuid import UUID

import pytest
from fsspec.implementations.dirfs import DirFileSystem
from prefect import flow
from prefect.states import Completed, Failed

from corpusmill.config import ConfigError, RunnerConfig, parse_config
from tasks.clean.prefect_tasks import apply_task, decide_task, row_phase_task, signatures_task
from tasks.common.dataset import DatasetHandle
from tasks.common.errors import CorpusmillError, IntegrityError
from tasks.common.retry import is_transient, retry_transient, storage_task_options
from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.prefect_tasks import ingest_shard_task
from tasks.ingest.shards import IngestError, plan_shards
from tasks.score.prefect_tasks import score_partition_task
from tasks.tokenize.prefect_tasks import audit_tokens_shard_task, encode_shard_task


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def _during(error: BaseException, context: BaseException) -> BaseException:
    error.__context__ = context
    return error


def _client_error(code: str, status: int) -> BaseException:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


def _s3fs(code: str, status: int) -> BaseException:
    from s3fs.errors import translate_boto_error

    return translate_boto_error(_client_error(code, status))


def _transient() -> list[BaseException]:
    import aiohttp
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
    from fsspec.exceptions import FSTimeoutError

    return [
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        ConnectionRefusedError(),
        BrokenPipeError(),
        TimeoutError("read timed out"),
        FSTimeoutError(),
        OSError(errno.ETIMEDOUT, "timed out"),
        _client_error("SlowDown", 503),
        _client_error("InternalError", 500),
        _client_error("ThrottlingException", 400),
        _client_error("Whatever", 502),
        _s3fs("SlowDown", 503),
        _s3fs("InternalError", 500),
        _s3fs("Unmapped", 503),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        ReadTimeoutError(endpoint_url="http://x"),
        ConnectionClosedError(endpoint_url="http://x"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("truncated"),
        _raised_from(IngestError("s3://b/x.jsonl: cannot read: ConnectionResetError"), ConnectionResetError()),
        _raised_from(RuntimeError("wrapped"), _client_error("SlowDown", 503)),
    ]


def _deterministic() -> list[BaseException]:
    import pyarrow as pa

    return [
        CorpusmillError("bad input"),
        IntegrityError("part-00000.parquet: sha256 differs"),
        ConfigError("pipelines.yaml: 1 problem(s)"),
        ValueError("bad value"),
        KeyError("text"),
        TypeError("x"),
        FileNotFoundError(errno.ENOENT, "no such file"),
        PermissionError(errno.EACCES, "denied"),
        pa.ArrowInvalid("Parquet magic bytes not found in footer"),
        OSError(errno.ENOSPC, "no space left"),
        gzip.BadGzipFile("Not a gzipped file"),
        RuntimeError("plain bug"),
        _client_error("NoSuchKey", 404),
        _client_error("AccessDenied", 403),
        _s3fs("NoSuchKey", 404),
        _s3fs("AccessDenied", 403),
        _s3fs("InvalidArgument", 400),
        _raised_from(IngestError("x.parquet: not a readable Parquet file"), pa.ArrowInvalid("magic bytes")),
        _during(ValueError("parse error while handling"), ConnectionResetError()),  # not raised *from* it
        _raised_from(IntegrityError("damaged"), ValueError("sha256 mismatch")),
    ]


@pytest.mark.parametrize("error", _transient(), ids=lambda e: type(e).__name__)
def test_transient_storage_errors_are_retried(error):
    assert is_transient(error)
    assert retry_transient(None, None, Failed(data=error))


@pytest.mark.parametrize("error", _deterministic(), ids=lambda e: type(e).__name__)
def test_deterministic_failures_are_never_retried(error):
    assert not is_transient(error)
    assert not retry_transient(None, None, Failed(data=error))


def test_a_state_without_an_exception_is_not_retried():
    assert not retry_transient(None, None, Completed(data=1))


@pytest.mark.parametrize(
    "task",
    [ingest_shard_task, row_phase_task, signatures_task, decide_task, apply_task, encode_shard_task, audit_tokens_shard_task, score_partition_task],
    ids=lambda t: t.name,
)
def test_storage_shard_tasks_retry_transient_errors_by_default(task):
    assert task.retry_condition_fn is retry_transient and task.retries == RunnerConfig().retries
    configured = task.with_options(**storage_task_options(RunnerConfig(retries=5, retry_delay_seconds=[1, 4])))
    assert configured.retries == 5 and configured.retry_delay_seconds == [1, 4]
    assert configured.retry_condition_fn is retry_transient


class FlakyFileSystem(DirFileSystem):
    """A local folder (`path`) as `flaky://`; its first `failures` opens for reading raise `error`.
    Every open for reading is appended to the file `log` (the attempts a test can count)."""

    protocol = "flaky"
    errors = {
        "reset": lambda p: ConnectionResetError(errno.ECONNRESET, f"{p}: Connection reset by peer"),
        "denied": lambda p: PermissionError(errno.EACCES, f"{p}: Access Denied"),
    }

    def __init__(self, *, log: str, failures: int = 0, error: str = "reset", **kwargs) -> None:
        super().__init__(target_protocol="file", **kwargs)
        self.log, self.failures, self.error = Path(log), failures, error

    def open(self, path, mode="rb", *args, **kwargs):
        if "r" in mode:
            before = len(self.log.read_text().splitlines()) if self.log.exists() else 0
            with self.log.open("a") as handle:
                handle.write(f"{path}\n")
            if before < self.failures:
                raise self.errors[self.error](path)
        return super().open(path, mode, *args, **kwargs)


@pytest.fixture
def flaky(tmp_path):
    """(file name, bytes, failures, error) -> a SourceConfig reading that file through `flaky://`."""
    import fsspec
    from fsspec.registry import _registry

    fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)

    def source(name: str, data: bytes, failures: int = 0, error: str = "reset", fmt: str = "jsonl") -> SourceConfig:
        folder = tmp_path / "source"
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
        options = {"path": str(folder), "log": str(tmp_path / "opens.log"), "failures": failures, "error": error}
        return SourceConfig(uri=f"flaky://{name}", format=fmt, label_column="label", storage_options=options)

    yield source
    _registry.pop("flaky", None)


@flow(name="retry-test-ingest")
def ingest_one_file(source: SourceConfig, out_uri: str, retries: int) -> str:
    """Plan the source (as the ingest flow does) and ingest its one shard with the given retries;
    returns the shard task's run id (its exception, if any, is left in its state)."""
    options = storage_task_options(RunnerConfig(retries=retries, retry_delay_seconds=0))
    [shard] = plan_shards(source, IngestConfig())
    future = ingest_shard_task.with_options(**options).submit(shard, source, IngestConfig(), out_uri, "k", "part-00000.parquet")
    future.wait()
    return str(future.task_run_id)


def _task_run(run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_task_run(UUID(run_id))


ROWS = [{"text": f"document number {i}", "label": "pos" if i % 2 else "neg"} for i in range(25)]
JSONL = "\n".join(json.dumps(row) for row in ROWS).encode() + b"\n"


def test_a_transient_storage_error_is_retried_and_the_shard_succeeds(flaky, tmp_path, prefect_harness):
    source = flaky("docs.jsonl", JSONL, failures=1)
    [shard] = plan_shards(source, IngestConfig())  # listing does not open: the first read fails
    (tmp_path / "opens.log").unlink(missing_ok=True)
    run = _task_run(ingest_one_file(source, str(tmp_path / "raw"), retries=2))
    assert run.state.is_completed() and run.run_count == 2, "one failed attempt, then a successful retry"
    part = DatasetHandle(str(tmp_path / "raw")).finished_part("k", "part-00000.parquet")
    assert part is not None and part.rows == len(ROWS)
    assert shard.pieces[0].uri == "flaky://docs.jsonl"


def test_without_retries_the_same_transient_error_fails_the_shard(flaky, tmp_path, prefect_harness):
    source = flaky("docs.jsonl", JSONL, failures=1)
    run = _task_run(ingest_one_file(source, str(tmp_path / "raw"), retries=0))
    assert run.state.is_failed() and run.run_count == 1


@pytest.mark.parametrize("case", ["access-denied", "corrupt-gzip"])
def test_a_deterministic_failure_fails_at_once_with_one_attempt(case, flaky, tmp_path, prefect_harness):
    if case == "access-denied":  # every open is refused: retrying cannot help
        source = flaky("docs.jsonl", JSONL, failures=100, error="denied")
    else:  # the bytes themselves are bad
        source = flaky("docs.jsonl.gz", b"this is not gzip data at all" * 10)
    run = _task_run(ingest_one_file(source, str(tmp_path / "raw"), retries=2))
    assert run.state.is_failed() and run.run_count == 1
    assert "IngestError" in run.state.message or "docs.jsonl" in run.state.message


def test_a_bad_parquet_file_fails_planning_at_once(flaky, tmp_path):
    """Planning is a plain call in the stage's `plan` (no task): a bad footer fails it on the first read."""
    source = flaky("docs.parquet", b"PAR1 but not really a parquet file", fmt="parquet")
    with pytest.raises(Exception, match="docs.parquet"):
        plan_shards(source, IngestConfig())
    assert len((tmp_path / "opens.log").read_text().splitlines()) == 1, "the file was read once"


def test_runner_retry_settings_are_validated():
    base = {"pipelines": {"p": {"source": {"uri": "demo://reviews", "format": "demo"}}}}
    runner = parse_config(base | {"runner": {"retries": 4, "retry_delay_seconds": [1, 10]}}).runner
    assert (runner.retries, runner.retry_delay_seconds) == (4, [1, 10])
    assert storage_task_options(runner)["retries"] == 4
    defaults = parse_config(base).runner
    assert defaults.retries == 2 and defaults.retry_delay_seconds == 2.0
    for bad, key in [
        ({"retries": -1}, "runner.retries"),
        ({"retries": "often"}, "runner.retries"),
        ({"retry_delay_seconds": -1}, "runner.retry_delay_seconds"),
        ({"retry_delay_seconds": []}, "runner.retry_delay_seconds"),
        ({"retry_delay_seconds": [1, -2]}, "runner.retry_delay_seconds"),
        ({"retry": 2}, "runner.retry"),
    ]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            parse_config(base | {"runner": bad})
