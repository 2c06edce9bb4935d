"""The one exception family for errors a user can fix (bad config, bad input, damaged outputs).

`corpusmill run` catches `CorpusmillError` (also when a Prefect flow re-raises it), prints
`corpusmill: error: <message>` and exits 2; the message names the file (or source) and the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_log = logging.getLogger("corpusmill")


class CorpusmillError(Exception):
    """An error the user can act on; its message names the file or source and the cause."""


class ConfigError(CorpusmillError, ValueError):
    """A `pipelines.yaml` that cannot be used; the message names the file and each bad key."""


class IntegrityError(CorpusmillError):
    """A finished dataset, bundle or checkpoint does not match what was recorded when it was written."""


class DegenerateDataError(CorpusmillError):
    """The data left after a stage cannot feed the next one (no rows, too few rows for a split)."""


_QUIET: ContextVar[bool] = ContextVar("corpusmill_quiet_warnings", default=False)


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """Within the block, `warn` says nothing: a probe whose findings are checked (and said) again
    later, e.g. a parent flow's reuse check before the stage's own run."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def warn(message: str) -> None:
    """A warning on the console and, inside a Prefect run, in the run's logs (nothing inside
    `quiet_warnings()`)."""
    if _QUIET.get():
        return
    try:
        from prefect.logging import get_run_logger

        get_run_logger().warning(message)
    except (ImportError, RuntimeError):  # outside a Prefect run: MissingContextError is a RuntimeError
        _log.warning(message)
