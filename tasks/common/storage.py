"""One I/O layer over fsspec: every stage reads and writes files through these functions, so a
dataset root may be a local folder or any fsspec URL (`s3://bucket/x`) alike.

Writes are atomic (a temporary name, then a rename). Libraries that insist on a local file
(`Tokenizer.from_file`, safetensors, `mlflow.log_artifact`) get one through `local_copy` (remote
file staged into a temporary folder) or write into a temporary folder and `upload_dir` it.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem


def is_local(uri: str) -> bool:
    """True for a plain path or a `file://` URL."""
    return "://" not in str(uri) or str(uri).startswith("file://")


def join(uri: str, *names: str) -> str:
    """`uri` joined with path names ('/'-separated, the protocol kept)."""
    return posixpath.join(str(uri).rstrip("/"), *names)


def exists(uri: str) -> bool:
    """True when a file or folder exists at `uri`."""
    fs, path = fsspec.core.url_to_fs(str(uri))
    return fs.exists(path)


def read_bytes(uri: str) -> bytes:
    """The whole content of the file at `uri`."""
    fs, path = fsspec.core.url_to_fs(str(uri))
    with fs.open(path, "rb") as handle:
        return handle.read()


def read_text(uri: str) -> str:
    """The UTF-8 text of the file at `uri`."""
    return read_bytes(uri).decode("utf-8")


def read_json(uri: str) -> Any:
    """The parsed JSON file at `uri`."""
    return json.loads(read_bytes(uri))


def write_bytes(uri: str, data: bytes) -> None:
    """Write `data` to `uri` atomically (a temporary name in the same folder, then a rename)."""
    fs, path = fsspec.core.url_to_fs(str(uri))
    write_atomic(fs, path, data)


def write_atomic(fs: fsspec.AbstractFileSystem, path: str, data: bytes | Callable[[IO[bytes]], None]) -> None:
    """The one atomic write: `data` (bytes, or a function that writes into the open file) to `path`
    on `fs` through a temporary name in the same folder (flushed to disk on a local filesystem),
    then a rename; readers see the old file or the whole new one. The temporary file is removed
    when the write fails."""
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with fs.open(tmp, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            if isinstance(fs, LocalFileSystem):
                handle.flush()
                os.fsync(handle.fileno())
        fs.mv(tmp, path)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


def write_parquet(uri: str, table: pa.Table, compression: str = "zstd") -> None:
    """Write `table` as one Parquet file at `uri` atomically (`write_atomic`)."""
    fs, path = fsspec.core.url_to_fs(str(uri))
    write_atomic(fs, path, lambda sink: pq.write_table(table, sink, compression=compression))


def read_parquet_schema(uri: str) -> pa.Schema:
    """The Arrow schema of the Parquet file at `uri` (its footer only, no row is read)."""
    fs, path = fsspec.core.url_to_fs(str(uri))
    with fs.open(path, "rb") as handle:
        return pq.read_schema(handle)


def write_text(uri: str, text: str) -> None:
    """Write UTF-8 `text` to `uri` atomically."""
    write_bytes(uri, text.encode("utf-8"))


def write_json(uri: str, obj: Any, indent: int = 2) -> None:
    """Write `obj` as JSON to `uri` atomically."""
    write_text(uri, json.dumps(obj, indent=indent, default=str, ensure_ascii=False))


@contextmanager
def local_copy(uri: str) -> Iterator[Path]:
    """A local path holding the file or folder at `uri` for the duration of the block.

    A local `uri` is yielded as it is (no copy); a remote one is downloaded into a temporary folder
    that is deleted afterwards. For libraries that only open local files."""
    if is_local(uri):
        yield Path(str(uri).removeprefix("file://"))
        return
    with tempfile.TemporaryDirectory(prefix="corpusmill-stage-") as tmp:
        yield download(uri, Path(tmp) / (posixpath.basename(str(uri).rstrip("/")) or "data"))


def download(uri: str, target: str | os.PathLike[str]) -> Path:
    """Copy the file or folder at `uri` (local or remote) to the local path `target`; returns it."""
    fs, path = fsspec.core.url_to_fs(str(uri))
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fs.isdir(path):
        for found in fs.find(path):
            name = posixpath.relpath(found, path.rstrip("/"))
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            with fs.open(found, "rb") as src:
                (target / name).write_bytes(src.read())
    else:
        with fs.open(path, "rb") as src:
            target.write_bytes(src.read())
    return target


def upload_dir(local_dir: str | os.PathLike[str], uri: str) -> list[str]:
    """Copy every file under `local_dir` to the folder `uri` (each file written atomically);
    returns the relative names copied, sorted."""
    base = Path(local_dir)
    if not base.is_dir():
        return []
    names = sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
    for name in names:
        write_bytes(join(uri, name), (base / name).read_bytes())
    return names
