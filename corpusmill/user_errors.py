"""User errors on the console: one line, no traceback.

Prefect logs a flow's or task's exception with its traceback at every level (task, subflow,
flow). For a `CorpusmillError` (bad config, bad input, damaged output: the message already names
the file and the cause) the console handlers drop the traceback; the Prefect API logs keep it.
"""

from __future__ import annotations

import logging

from tasks.common.errors import CorpusmillError


class HideUserErrorTracebacks(logging.Filter):
    """Drops the traceback of log records whose exception is a `CorpusmillError`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; strip `exc_info` when it holds a user error."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, CorpusmillError):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_user_errors() -> None:
    """Add the filter to the root logger's handlers (Prefect's console handler lives there);
    call after Prefect is imported, since importing it configures logging."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, HideUserErrorTracebacks) for f in handler.filters):
            handler.addFilter(HideUserErrorTracebacks())
