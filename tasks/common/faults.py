"""Fault injection for the crash tests: `CORPUSMILL_FAULT=kill:<point>` makes the process SIGKILL
its whole process group when it reaches `<point>` (as `kill -9 -<pgid>` would from outside).

Points: `ingest`, `clean`, `audit`, `tokenize`, `evaluate` (a stage's parts are written, its
manifest is not: the start of `DatasetHandle.commit`), `<stage>:mid-commit` (the first part of the
stage published, the manifest not yet), `train` (right after the first checkpoint is saved),
`register` (the model version exists, its documentation and alias do not). Unset: nothing happens.
"""

from __future__ import annotations

import os
import signal

ENV = "CORPUSMILL_FAULT"
COMMIT_POINTS = {"raw": "ingest", "tokens": "tokenize", "quarantine": "clean"}


def fault_point(point: str) -> None:
    """SIGKILL this process group when `CORPUSMILL_FAULT` is `kill:<point>`; otherwise return."""
    if os.environ.get(ENV) == f"kill:{point}":
        os.killpg(os.getpgrp(), signal.SIGKILL)


def commit_point(stage: str, where: str = "") -> None:
    """`fault_point` for a dataset commit of `stage` (raw/quarantine/tokens named by their stage)."""
    name = COMMIT_POINTS.get(stage, stage)
    fault_point(f"{name}:{where}" if where else name)
