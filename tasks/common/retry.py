"""Retries for Prefect tasks that read or write object storage: transient errors only.

A shard task that fails because the network or the store hiccuped (connection reset, timeout, S3
`SlowDown`/503/500, throttling) succeeds when run again; one that fails because of its input or
config (a damaged part, a bad Parquet file, a missing file, a user error) fails the same way every
time, so retrying it only delays the error. `retry_transient` is the Prefect 3
`retry_condition_fn` that tells the two apart; `storage_task_options` gives the `@task` /
`with_options` keyword arguments (`runner.retries`, `runner.retry_delay_seconds` of the config).

How an exception is judged (`is_transient`), walking its chain from the raised one:
- transient -> retry: `ConnectionError` (reset, refused, aborted, broken pipe), `TimeoutError`
  (also asyncio's, fsspec's `FSTimeoutError`), `OSError` with a network errno (ECONNRESET,
  ETIMEDOUT, EHOSTUNREACH, EAGAIN, EREMOTEIO, EBUSY: s3fs's 500/503/SlowDown ...), botocore's HTTP
  and endpoint connection errors, an S3 `ClientError` whose code is a throttling/5xx one or whose
  HTTP status is 5xx/429, aiohttp connection/payload errors and 5xx/429 responses,
  urllib3/requests connection, protocol and timeout errors, `http.client.IncompleteRead`;
- deterministic -> no retry: `CorpusmillError` (user errors, `IntegrityError`, `ConfigError`),
  `ValueError` (also pyarrow's `ArrowInvalid`: a bad Parquet file; pydantic's ValidationError),
  `LookupError` (`KeyError`), `TypeError`, `FileNotFoundError`, `PermissionError`, other
  `OSError`s with an errno, TLS errors (but an EOF mid-TLS is transient), other S3 error codes (NoSuchKey, AccessDenied ...);
- a wrapper raised *from* a transient error (`raise IngestError(...) from ConnectionResetError`)
  is transient: the wrapper only names the file. A deterministic error is judged by its explicit
  `__cause__` only, never by an error it happened to be raised while handling; an error of another
  type by its `__cause__` or `__context__`. Nothing transient in the chain: no retry.
Classes are recognised by module-qualified name, so no optional client library is imported.
"""

from __future__ import annotations

import errno
from typing import Any, Protocol

DEFAULT_RETRIES = 2
DEFAULT_RETRY_DELAY_SECONDS = 2.0

TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNRESET",
        "ECONNREFUSED",
        "ECONNABORTED",
        "ETIMEDOUT",
        "EPIPE",
        "EHOSTUNREACH",
        "EHOSTDOWN",
        "ENETUNREACH",
        "ENETDOWN",
        "ENETRESET",
        "EAGAIN",
        "EWOULDBLOCK",
        "EINTR",
        "EBUSY",
        "EREMOTEIO",
        "ESHUTDOWN",
        "ENOTCONN",
    )
    if hasattr(errno, name)
)
TRANSIENT_CLASSES = frozenset(
    {
        "builtins.ConnectionError",
        "builtins.TimeoutError",
        "http.client.IncompleteRead",
        "botocore.exceptions.HTTPClientError",
        "botocore.exceptions.ConnectionError",  # endpoint/connect/read/closed
        "botocore.parsers.ResponseParserError",  # throttled responses with a broken body (as s3fs retries them)
        "aiohttp.client_exceptions.ClientConnectionError",
        "aiohttp.client_exceptions.ClientPayloadError",
        "urllib3.exceptions.ProtocolError",
        "urllib3.exceptions.TimeoutError",
        "urllib3.exceptions.MaxRetryError",
        "requests.exceptions.ConnectionError",
        "requests.exceptions.Timeout",
        "requests.exceptions.ChunkedEncodingError",
    }
)
DETERMINISTIC_CLASSES = frozenset(
    {
        "tasks.common.errors.CorpusmillError",
        "builtins.ValueError",
        "builtins.LookupError",
        "builtins.TypeError",
        "builtins.AttributeError",
        "builtins.NotImplementedError",
        "builtins.AssertionError",
        "builtins.FileNotFoundError",
        "builtins.FileExistsError",
        "builtins.PermissionError",
        "builtins.IsADirectoryError",
        "builtins.NotADirectoryError",
        "ssl.SSLError",
        "botocore.exceptions.SSLError",
        "aiohttp.client_exceptions.ClientSSLError",
        "botocore.exceptions.NoCredentialsError",
        "botocore.exceptions.ParamValidationError",
    }
)
TRANSIENT_TLS = frozenset({"ssl.SSLEOFError", "ssl.SSLZeroReturnError"})  # the peer closed mid-TLS
TRANSIENT_S3_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "500",
        "502",
        "503",
        "504",
    }
)


class RetrySettings(Protocol):
    """What `storage_task_options` reads (the config's `RunnerConfig` is one)."""

    retries: int
    retry_delay_seconds: float | list[float]


def _names(exc: BaseException) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__}


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status a client error carries (botocore `response`, aiohttp `status`, requests
    `response.status_code`), or None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if isinstance(status, int) else None
    status = getattr(response, "status_code", None) if response is not None else getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _verdict(exc: BaseException) -> bool | None:
    """True (transient), False (deterministic) or None (not known: judge its cause) for one exception."""
    names = _names(exc)
    status = _http_status(exc)
    if "botocore.exceptions.ClientError" in names:
        code = str(exc.response.get("Error", {}).get("Code", "")) if isinstance(getattr(exc, "response", None), dict) else ""
        return code in TRANSIENT_S3_CODES or (status is not None and (status >= 500 or status == 429))
    if status is not None and ("aiohttp.client_exceptions.ClientResponseError" in names or "requests.exceptions.HTTPError" in names):
        return status >= 500 or status == 429
    if names & TRANSIENT_TLS:
        return True
    if names & DETERMINISTIC_CLASSES:
        return False
    if names & TRANSIENT_CLASSES:
        return True
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.EIO:
            return None  # s3fs's OSError for an S3 error code it does not map: judged by that ClientError
        return exc.errno in TRANSIENT_ERRNOS
    return None


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or the error it was raised from) is a transient network/storage error
    worth running the task again for; False for a deterministic failure (see the module doc)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        verdict = _verdict(current)
        if verdict:
            return True
        if verdict is False:
            current = current.__cause__  # only what it was explicitly raised from
        else:
            current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


def failure_exception(state: Any) -> BaseException | None:
    """The exception of a failed Prefect state (None when it holds none)."""
    data = getattr(state, "data", None)
    if isinstance(data, BaseException):
        return data
    try:
        state.result(raise_on_failure=True)
    except BaseException as error:  # the state's own exception is what we want
        return error
    return None


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect 3 `retry_condition_fn` (`(task, task_run, state) -> bool`): True lets Prefect retry
    the failed task run (up to the task's `retries`) when its exception `is_transient`."""
    exc = failure_exception(state)
    return exc is not None and is_transient(exc)


def storage_task_options(runner: RetrySettings | None = None) -> dict[str, Any]:
    """Keyword arguments for `@task(...)` or `task.with_options(...)` of a task that reads or writes
    object storage: `retries` and `retry_delay_seconds` from `runner` (the config's `runner:`
    section; None: the defaults, 2 retries 2 s apart) and `retry_condition_fn=retry_transient`."""
    retries = DEFAULT_RETRIES if runner is None else runner.retries
    delay = DEFAULT_RETRY_DELAY_SECONDS if runner is None else runner.retry_delay_seconds
    return {"retries": retries, "retry_delay_seconds": list(delay) if isinstance(delay, (list, tuple)) else delay, "retry_condition_fn": retry_transient}
