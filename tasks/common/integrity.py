"""Checks that a finished dataset's files are what its manifest recorded at commit time.

Recorded per part: byte size, sha256 and rows; per extra file (tokenizer.json, report.json, ...):
byte size and sha256. `verify_files` returns one problem string per damaged file, each naming the
file and the cause ("size 1234 != 5678 recorded", "missing", "sha256 differs", ...).
Hashing is streamed (1 MiB blocks): about 1 s per GB on one core, see docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

if TYPE_CHECKING:
    from tasks.common.dataset import Manifest

BLOCK = 1 << 20


class FileDigest(BaseModel):
    """Byte size and sha256 (hex) of one file."""

    bytes: int
    sha256: str


def file_digest(fs: Any, path: str) -> FileDigest:
    """Size and sha256 of a file on an fsspec filesystem, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(BLOCK), b""):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(bytes=size, sha256=digest.hexdigest())


def _check_file(fs: Any, path: str, uri: str, recorded: FileDigest | None) -> tuple[str | None, FileDigest | None]:
    """(problem or None, actual digest) of one file against its record."""
    if recorded is None:
        return f"{uri}: no checksum recorded (written by an older corpusmill)", None
    if not fs.exists(path):
        return f"{uri}: missing", None
    size = fs.size(path)
    if size != recorded.bytes:
        return f"{uri}: size {size} != {recorded.bytes} recorded", None
    actual = file_digest(fs, path)
    if actual.sha256 != recorded.sha256:
        return f"{uri}: sha256 {actual.sha256[:12]}... != {recorded.sha256[:12]}... recorded (content changed)", actual
    return None, actual


def _footer_rows(fs: Any, path: str) -> int:
    with fs.open(path, "rb") as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def verify_files(fs: Any, folder: str, uri: str, manifest: Manifest) -> list[str]:
    """Problems of the dataset folder (`folder`: fs path, `uri`: for messages) against `manifest`:
    each part must exist with the recorded size, sha256 and Parquet footer row count, each extra
    file with its recorded size and sha256. An empty list means the dataset is intact."""
    problems = []
    for part in manifest.parts:
        path, uri_of = posixpath.join(folder, part.name), f"{uri}/{part.name}"
        recorded = FileDigest(bytes=part.bytes, sha256=part.sha256) if part.bytes is not None and part.sha256 else None
        problem, _ = _check_file(fs, path, uri_of, recorded)
        if problem is None or " size " in problem:
            try:
                rows = _footer_rows(fs, path)
            except (pa.ArrowException, OSError, ValueError) as error:  # any unreadable footer is the same finding
                problem = problem or f"{uri_of}: not a readable Parquet file ({type(error).__name__})"
            else:
                if rows != part.rows:
                    problem = (
                        f"{problem}, {rows} rows != {part.rows} recorded" if problem else f"{uri_of}: {rows} rows in the Parquet footer != {part.rows} recorded"
                    )
        if problem:
            problems.append(problem)
    for name, recorded in manifest.files.items():
        problem, _ = _check_file(fs, posixpath.join(folder, name), f"{uri}/{name}", recorded)
        if problem:
            problems.append(problem)
    return problems
