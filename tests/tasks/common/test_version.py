"""A stage's code version covers exactly the modules it imports (transitively), so no reuse is stale."""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks.common.version import PROJECT_ROOT, _tree_version, code_version, stage_files


def test_tokenize_version_covers_the_audit_modules_it_calls() -> None:
    files = stage_files("tokenize")
    # tokenize applies the audit's mitigations (reweighting, counterfactual augmentation)
    assert "tasks/audit/mitigate.py" in files
    assert "tasks/audit/mitigated.py" in files
    assert "flows/tokenize.py" in files
    assert "tasks/audit/lexicons/en.yaml" in files  # data files of a package it uses
    # ...and nothing it never imports
    assert "tasks/train/trainer.py" not in files
    assert not any(f.startswith("tasks/register/") for f in files)


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("tasks", "flows"):
        shutil.copytree(PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_changing_a_used_function_invalidates_the_stage_and_nothing_else(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    stages = ("ingest", "clean", "audit", "tokenize", "train", "evaluate", "register")
    before = {s: _tree_version(root, (s,)) for s in stages}
    assert _tree_version(root, ("tokenize",)) == before["tokenize"]  # deterministic

    _append(root / "tasks/audit/mitigate.py", "\n\ndef _changed() -> int:\n    return 1\n")
    _tree_version.cache_clear()
    after = {s: _tree_version(root, (s,)) for s in stages}
    changed = {s for s in stages if after[s] != before[s]}
    # audit and tokenize use mitigate.py; ingest, clean and train never import it
    assert {"audit", "tokenize"} <= changed
    assert not changed & {"ingest", "clean", "train"}


def test_changing_an_unrelated_module_keeps_the_version(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    before = _tree_version(root, ("ingest",))
    _append(root / "tasks/train/trainer.py", "\n# a comment in a module ingest never imports\n")
    _tree_version.cache_clear()
    assert _tree_version(root, ("ingest",)) == before


def test_the_live_tree_version_is_stable() -> None:
    assert code_version("tokenize") == code_version("tokenize")
    assert len(code_version("train", "evaluate")) == 16
