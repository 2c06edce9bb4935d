"""The one exception family for errors a user can fix (bad config, bad input, damaged outputs).

`corpusmill run` catches `CorpusmillError` (also when a Prefect flow re-raises it), prints
`corpusmill: error: <message>` and exits 2; the message names the file (or source) and the cause.
"""
from __future__ import annotations

import logging

_log = logging.getLogger("corpusmill")


class CorpusmillError(Exception):
    """An error the user can act on; its message names the file or source and the cause."""


class IntegrityError(CorpusmillError):
    """A finished dataset, bundle or checkpoint does not match what was recorded when it was written."""


class DegenerateDataError(CorpusmillError):
    """The data left after a stage cannot feed the next one (no rows, too few rows for a split)."""


def warn(message: str) -> None:
    """A warning on the console and, inside a Prefect run, in the run's logs."""
    try:
        from prefect.logging import get_run_logger

        get_run_logger().warning(message)
    except (ImportError, RuntimeError):  # outside a Prefect run: MissingContextError is a RuntimeError
        _log.warning(message)
