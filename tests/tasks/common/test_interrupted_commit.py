"""A commit killed after publishing some parts (before its manifest) is finished by the next commit
of the same run, with the same result as an uninterrupted one (issue 9: kill mid-commit)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa

from tasks.common.dataset import DatasetHandle


def _write(out: DatasetHandle) -> list:
    parts = [out.write_part("k1", f"part-{i}.parquet", [pa.table({"x": [i, i + 1]})]) for i in range(2)]
    out.write_atomic_bytes(out.work_file("k1", "report.json"), b"{}")
    return parts


def _commit(out: DatasetHandle, parts: list):
    return out.commit(stage="clean", key="k1", parts=parts, inputs=[], config_hash="c", code_version="v", started=time.time(), extra_files=["report.json"])


def test_commit_finishes_what_a_killed_commit_published(tmp_path: Path) -> None:
    clean = DatasetHandle(str(tmp_path / "clean"))
    expected = _commit(clean, _write(clean))

    out = DatasetHandle(str(tmp_path / "resumed"))
    parts = _write(out)
    for name in ("report.json", "part-0.parquet"):  # what the killed commit had moved
        shutil.move(Path(out.work_dir("k1")) / name, Path(out.path) / name)
    manifest = _commit(out, parts)

    assert manifest.content_hash == expected.content_hash and manifest.rows == 4
    assert sorted(p.name for p in Path(out.path).glob("*.parquet")) == ["part-0.parquet", "part-1.parquet"]
    assert (Path(out.path) / "report.json").read_bytes() == b"{}"
