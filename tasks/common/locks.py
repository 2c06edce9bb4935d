"""Workspace locks: one lock file per pipeline (and for Prefect's database set-up, and per registered
model), held with `fcntl.flock` and labelled with its holder (pid, host, start time, command).

The kernel releases a `flock` when its holder dies, however it dies (even `kill -9`), so a lock is
never left held by a dead process on this host. A holder that dies leaves its label behind: the
next holder sees a label of a process that no longer runs and says so (a stale lock taken over).
A clean release empties the label. Waiters poll; they print once which run holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

POLL_SECONDS = 0.5


class LockTimeout(RuntimeError):
    """The lock stayed held by another process for longer than the caller wanted to wait."""


def holder_label(command: str | None = None) -> dict[str, Any]:
    """What a lock file says about its holder: pid, host, start time (UTC) and command line."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command if command is not None else " ".join(["corpusmill", *sys.argv[1:]]),
    }


def read_label(path: Path) -> dict[str, Any] | None:
    """The holder label in lock file `path`, or None when empty, absent or unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def describe(label: dict[str, Any] | None) -> str:
    """One line naming a holder, e.g. `pid 123 on host-a since 2026-01-01T10:00:00+00:00 (corpusmill run x)`."""
    if not label:
        return "an unknown process"
    return f"pid {label.get('pid')} on {label.get('host')} since {label.get('started')} ({label.get('command', '')})"


def label_is_stale(label: dict[str, Any] | None) -> bool:
    """True when the label names a process of this host that is no longer running."""
    if not label or label.get("host") != socket.gethostname():
        return False
    return not psutil.pid_exists(int(label.get("pid", -1)))


@contextmanager
def hold(path: Path, timeout: float | None = None, say: Callable[[str], None] | None = None, command: str | None = None) -> Iterator[dict[str, Any] | None]:
    """Hold the lock file `path` for the `with` block.

    In: the lock file, how long to wait for another holder (None: forever, 0: do not wait), a
    function that gets the one-line messages (waiting for <holder>, stale lock taken over).
    Out (yielded): the stale label of a holder that died without releasing, else None.
    Raises `LockTimeout` naming the holder when the wait runs out.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes (PEP 446)
    try:
        _acquire(fd, path, timeout, say)
        stale = read_label(path)
        if stale is not None and say is not None:
            how = "no longer runs" if label_is_stale(stale) else "did not release it (killed?)"
            say(f"lock {path}: previous holder {describe(stale)} {how}; taking over")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder_label(command)).encode("utf-8"), 0)
        os.fsync(fd)
        try:
            yield stale
        finally:
            os.ftruncate(fd, 0)  # a clean release leaves no label: nothing stale for the next holder
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, timeout: float | None, say: Callable[[str], None] | None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        label = read_label(path)
        if deadline is not None and time.monotonic() >= deadline:
            waited = "" if not timeout else f" after waiting {timeout:.0f} s"
            raise LockTimeout(f"{path} is held by {describe(label)}{waited}")
        if not told and say is not None:
            limit = "" if deadline is None else f" (up to {timeout:.0f} s)"
            say(f"waiting for {path}: held by {describe(label)}{limit}")
            told = True
        time.sleep(POLL_SECONDS)


@contextmanager
def pipeline_locks(lock_dir: Path, pipelines: list[str], timeout: float | None, say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `<lock_dir>/pipeline-<name>.lock` of every pipeline in `pipelines` for the `with` block,
    taken in sorted order (two runs asking for overlapping sets cannot deadlock). `timeout` is the
    wait for each lock (None: forever, 0: fail at once); raises `LockTimeout` naming the holder."""
    with ExitStack() as stack:
        for name in sorted(set(pipelines)):
            stack.enter_context(hold(Path(lock_dir) / f"pipeline-{name}.lock", timeout=timeout, say=say))
        yield
