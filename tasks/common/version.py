"""Code versions: a content hash of the source a stage runs, so a code change invalidates its cache."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

TASKS_ROOT = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".txt"}


@lru_cache(maxsize=None)
def code_version(*packages: str) -> str:
    """sha256 (16 hex chars) over the source files of `tasks/<package>` for each package given.

    `tasks/common` is always included: every stage depends on it.
    """
    digest = hashlib.sha256()
    for package in sorted({"common", *packages}):
        folder = TASKS_ROOT / package
        for path in sorted(folder.rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(TASKS_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
