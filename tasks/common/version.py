"""Code versions: a content hash of the source a stage actually runs, so a code change invalidates its cache.

A stage names its packages (`tokenize`, `evaluate`, ...). Its code is every module of those packages,
the stage's flow module (`flows/<package>.py`) when there is one, and, transitively, every `tasks.*`
module they import (read statically with `ast`, so imports inside functions count too), plus the data
files (lexicons, templates) of every package those modules live in. Changing a function in any module
a stage uses changes its version (and, through the content hashes in cache keys, everything
downstream); changing a module it never imports changes nothing.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_SUFFIXES = {".json", ".yaml", ".yml", ".txt"}


def code_version(*packages: str) -> str:
    """sha256 (16 hex chars) over the source files (and data files) the given stage packages use."""
    return _tree_version(PROJECT_ROOT, tuple(sorted(set(packages))))


def stage_files(*packages: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Paths (relative to the project root) of every file that makes up these packages' code version."""
    return [str(path.relative_to(root)) for path in _closure(root, tuple(sorted(set(packages))))]


@cache
def _tree_version(root: Path, packages: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for path in _closure(root, packages):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _closure(root: Path, packages: tuple[str, ...]) -> list[Path]:
    """Seed modules of the packages (+ their flow modules), closed over `tasks.*` imports, + data files."""
    pending: list[Path] = []
    for package in packages:
        folder = root / "tasks" / package
        if not folder.is_dir():
            raise ValueError(f"code_version: no package tasks/{package} under {root}")
        pending += sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
        flow = root / "flows" / f"{package}.py"
        if flow.exists():
            pending.append(flow)
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending += [found for name in _imported_names(path) if (found := _module_file(root, name)) is not None]
    data: set[Path] = set()
    for path in seen:
        parts = path.relative_to(root).parts
        if parts[0] == "tasks" and len(parts) > 2:
            folder = root / "tasks" / parts[1]
            data.update(p for p in folder.rglob("*") if p.suffix in DATA_SUFFIXES and "__pycache__" not in p.parts)
    return sorted(seen | data)


def _imported_names(path: Path) -> list[str]:
    """Dotted names of the `tasks.*` modules (and `from tasks.x import y` candidates) a file imports."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in names if name == "tasks" or name.startswith("tasks.")]


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of a project module (`a/b.py` or `a/b/__init__.py`), None when it is not a module."""
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
