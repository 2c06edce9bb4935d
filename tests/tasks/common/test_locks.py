"""Lock files of the workspace: exclusive, labelled with the holder, stale labels taken over, waiters
told who holds the lock (issue 9, finding 3)."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import psutil
import pytest

from tasks.common.locks import LockTimeout, hold, pipeline_locks, read_label


def _dead_pid() -> int:
    pid = 4_000_000
    while psutil.pid_exists(pid):
        pid += 1
    return pid


def test_second_holder_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    lock = tmp_path / "pipeline-x.lock"
    with hold(lock, command="corpusmill run x"):
        label = read_label(lock)
        assert label is not None and label["pid"] == os.getpid() and label["host"] == socket.gethostname()
        with pytest.raises(LockTimeout, match=rf"held by pid {os.getpid()} on .*corpusmill run x"), hold(lock, timeout=0):
            pass
    assert read_label(lock) is None, "a clean release leaves no label"


def test_waiter_says_who_holds_the_lock_and_gets_it_after_release(tmp_path: Path) -> None:
    lock = tmp_path / "pipeline-x.lock"
    messages: list[str] = []
    told, got = threading.Event(), threading.Event()

    def waiter() -> None:
        def say(line: str) -> None:
            messages.append(line)
            told.set()

        with hold(lock, timeout=None, say=say):
            got.set()

    with hold(lock, command="first run"):
        thread = threading.Thread(target=waiter)
        thread.start()
        told.wait()
        assert not got.is_set()
    thread.join()
    assert got.is_set()
    assert messages and f"held by pid {os.getpid()}" in messages[0] and "first run" in messages[0]


def test_label_of_a_dead_holder_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    lock = tmp_path / "pipeline-x.lock"
    dead = {"pid": _dead_pid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00", "command": "corpusmill run x"}
    lock.write_text(json.dumps(dead))  # what a run killed with SIGKILL leaves (the kernel dropped its flock)
    messages: list[str] = []
    with hold(lock, timeout=0, say=messages.append) as stale:
        assert stale == dead
        assert read_label(lock)["pid"] == os.getpid()
    assert len(messages) == 1 and f"pid {dead['pid']}" in messages[0] and "no longer runs; taking over" in messages[0]


def test_pipeline_locks_take_every_named_pipeline(tmp_path: Path) -> None:
    with pipeline_locks(tmp_path, ["b", "a", "b"], timeout=0):
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline-a.lock", "pipeline-b.lock"]
        with pytest.raises(LockTimeout, match="pipeline-a.lock"), pipeline_locks(tmp_path, ["a"], timeout=0):
            pass
