"""Dataset handles: a folder of Parquet part files plus `_manifest.json`, written atomically.

A stage is finished when its manifest exists; the manifest is written last. Parts of a run in
progress live in `_work/<cache key>/` beside a small JSON sidecar each, so a crashed stage
resumes at shard granularity and a finished one is reused when its cache key is unchanged.
The folder may be local or any fsspec URL (`s3://...`).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field, ValidationError

from tasks.common import storage
from tasks.common.errors import IntegrityError
from tasks.common.faults import commit_point
from tasks.common.integrity import FileDigest, file_digest, verify_files

MANIFEST_NAME = "_manifest.json"
WORK_DIR = "_work"
PARQUET_COMPRESSION = "zstd"


class PartResult(BaseModel):
    """What one task wrote: a part file name (relative to its folder), its rows and counters;
    in a manifest also its byte size and sha256, recorded at commit (None in older manifests)."""

    name: str
    rows: int
    counters: dict[str, Any] = Field(default_factory=dict)
    bytes: int | None = None
    sha256: str | None = None


class InputRef(BaseModel):
    """Lineage pointer to an input dataset: its folder and content hash."""

    uri: str
    content_hash: str


class Manifest(BaseModel):
    """The record of a finished stage output; the last file written to its folder."""

    stage: str
    uri: str
    rows: int
    parts: list[PartResult]
    arrow_schema: str
    content_hash: str
    cache_key: str
    inputs: list[InputRef] = Field(default_factory=list)
    config_hash: str
    code_version: str
    created_at: str
    seconds: float
    counters: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, FileDigest] = Field(default_factory=dict, description="extra files: name -> size, sha256")


def stable_hash(obj: Any) -> str:
    """sha256 (hex, 16 chars) of a JSON-serialisable object with sorted keys."""
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cache_key(stage: str, inputs: Iterable[InputRef], config_hash: str, code_version: str) -> str:
    """The key that decides whether a finished stage can be reused: inputs + config + code."""
    return stable_hash({"stage": stage, "inputs": sorted(ref.content_hash for ref in inputs), "config": config_hash, "code": code_version})


class DatasetHandle:
    """A dataset folder (local path or fsspec URL): part files, work area and manifest."""

    def __init__(self, uri: str) -> None:
        self.uri = uri.rstrip("/")
        self.fs, self.path = fsspec.core.url_to_fs(self.uri)
        self._verified: str | None = None  # content hash of the manifest last verified intact

    def __repr__(self) -> str:
        return f"DatasetHandle({self.uri!r})"

    # ---- paths -------------------------------------------------------------------------
    def join(self, *names: str) -> str:
        """Filesystem path (no protocol) of a file inside this folder."""
        return posixpath.join(self.path, *names)

    def work_dir(self, key: str) -> str:
        """Path of the work area for a run with this cache key."""
        return self.join(WORK_DIR, key)

    # ---- manifest ----------------------------------------------------------------------
    def read_manifest(self) -> Manifest | None:
        """The manifest if the stage finished, else None; `IntegrityError` naming the file when it
        cannot be read or parsed (truncated, garbage)."""
        path = self.join(MANIFEST_NAME)
        if not self.fs.exists(path):
            return None
        try:
            with self.fs.open(path, "r", encoding="utf-8") as handle:
                return Manifest.model_validate_json(handle.read())
        except (ValidationError, UnicodeDecodeError, OSError) as error:
            cause = "not valid JSON" if "json_invalid" in str(error) else f"{type(error).__name__}"
            raise IntegrityError(f"{self.uri}/{MANIFEST_NAME}: unreadable manifest ({cause})") from error

    def verify(self) -> list[str]:
        """Problems of the finished parts and extra files against the manifest (empty: intact).
        Raises `FileNotFoundError` when there is no manifest, `IntegrityError` when it is unreadable."""
        manifest = self.require_manifest()
        problems = verify_files(self.fs, self.path, self.uri, manifest)
        self._verified = None if problems else manifest.content_hash
        return problems

    def verified_manifest(self) -> Manifest:
        """The manifest, after checking every part and extra file against it (once per handle);
        `IntegrityError` naming the first damaged file and its cause otherwise."""
        manifest = self.require_manifest()
        if self._verified != manifest.content_hash:
            problems = self.verify()
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise IntegrityError(f"{problems[0]}{more}; re-run the stage that writes {self.uri}")
        return manifest

    def require_manifest(self) -> Manifest:
        """The manifest, or a clear error naming the folder when the stage has not finished."""
        manifest = self.read_manifest()
        if manifest is None:
            raise FileNotFoundError(f"{self.uri} has no {MANIFEST_NAME}: its stage has not finished")
        return manifest

    def input_ref(self) -> InputRef:
        """Lineage pointer for a finished dataset, verified intact (`IntegrityError` otherwise)."""
        return InputRef(uri=self.uri, content_hash=self.verified_manifest().content_hash)

    # ---- writing -----------------------------------------------------------------------
    def write_atomic_bytes(self, path: str, data: bytes) -> None:
        """Write bytes to `path` (on this dataset's filesystem) atomically: `storage.write_atomic`."""
        storage.write_atomic(self.fs, path, data)

    def work_uri(self, key: str, name: str) -> str:
        """URI (with protocol when remote) of a file in the work area of run `key`."""
        return posixpath.join(self.uri, WORK_DIR, key, name)

    def work_file(self, key: str, name: str) -> str:
        """Path of an extra file (not a part) in the work area of run `key`; its folder exists."""
        self.fs.makedirs(self.work_dir(key), exist_ok=True)
        return posixpath.join(self.work_dir(key), name)

    def finished_part(self, key: str, name: str) -> PartResult | None:
        """The sidecar of a part already written by an earlier try of the same run, if any."""
        sidecar = posixpath.join(self.work_dir(key), f"{name}.json")
        if not self.fs.exists(sidecar):
            return None
        with self.fs.open(sidecar, "r", encoding="utf-8") as handle:
            return PartResult.model_validate_json(handle.read())

    def write_part(
        self, key: str, name: str, batches: Iterable[pa.RecordBatch | pa.Table], schema: pa.Schema | None = None, counters: dict[str, Any] | None = None
    ) -> PartResult:
        """Stream batches into `_work/<key>/<name>` (zstd Parquet) atomically; return its result.

        Memory is bounded by one batch. An empty iterator writes an empty file of `schema`
        (required then). The sidecar JSON is written after the part, so its presence means done.
        """
        final = posixpath.join(self.work_dir(key), name)
        rows = 0

        def stream(sink: Any) -> None:
            nonlocal rows
            writer: pq.ParquetWriter | None = None
            for batch in batches:
                if writer is None:
                    writer = pq.ParquetWriter(sink, batch.schema, compression=PARQUET_COMPRESSION)
                table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
                writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
                rows += table.num_rows
            if writer is None:
                if schema is None:
                    raise ValueError(f"part {name} of {self.uri} got no batches and no schema")
                writer = pq.ParquetWriter(sink, schema, compression=PARQUET_COMPRESSION)
            writer.close()

        storage.write_atomic(self.fs, final, stream)
        result = PartResult(name=name, rows=rows, counters=counters or {})
        self.write_atomic_bytes(f"{final}.json", result.model_dump_json().encode("utf-8"))
        return result

    def commit(
        self,
        *,
        stage: str,
        key: str,
        parts: list[PartResult],
        inputs: list[InputRef],
        config_hash: str,
        code_version: str,
        started: float,
        counters: dict[str, Any] | None = None,
        extra_files: list[str] | None = None,
    ) -> Manifest:
        """Publish the work parts: replace old parts, move new ones in, write the manifest last.

        `extra_files` (names inside the work area, e.g. `tokenizer.json`, `report.html`) are
        published beside the parts.
        """
        commit_point(stage)
        old_manifest = self.join(MANIFEST_NAME)
        if self.fs.exists(old_manifest):
            self.fs.rm(old_manifest)
        # a commit killed half-way published some files already: they are no longer in the work area
        moved = {
            name
            for name in [part.name for part in parts] + list(extra_files or [])
            if not self.fs.exists(posixpath.join(self.work_dir(key), name)) and self.fs.exists(self.join(name))
        }
        for path in self._top_level_parts():
            if path not in {self.join(name) for name in moved}:
                self.fs.rm(path)
        files = {}
        for name in extra_files or []:
            if name not in moved:
                self.fs.makedirs(posixpath.dirname(self.join(name)), exist_ok=True)
                self.fs.mv(posixpath.join(self.work_dir(key), name), self.join(name))
            files[name] = file_digest(self.fs, self.join(name))
        schema: pa.Schema | None = None
        ordered = []
        for part in sorted(parts, key=lambda part: part.name):
            src = posixpath.join(self.work_dir(key), part.name)
            dst = self.join(part.name)
            if part.name not in moved:
                self.fs.makedirs(posixpath.dirname(dst), exist_ok=True)
                self.fs.mv(src, dst)
                commit_point(stage, "mid-commit")
            digest = file_digest(self.fs, dst)
            ordered.append(part.model_copy(update={"bytes": digest.bytes, "sha256": digest.sha256}))
            if schema is None:
                with self.fs.open(dst, "rb") as handle:
                    schema = pq.read_schema(handle)
        manifest = Manifest(
            stage=stage,
            uri=self.uri,
            rows=sum(part.rows for part in parts),
            parts=ordered,
            arrow_schema=str(schema) if schema is not None else "",
            content_hash=stable_hash([part.sha256 for part in ordered]),
            cache_key=key,
            inputs=inputs,
            config_hash=config_hash,
            code_version=code_version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(time.time() - started, 3),
            counters=counters or {},
            files=files,
        )
        self.write_atomic_bytes(old_manifest, manifest.model_dump_json(indent=2).encode("utf-8"))
        work = self.join(WORK_DIR)
        if self.fs.exists(work):
            self.fs.rm(work, recursive=True)
        return manifest

    def _top_level_parts(self) -> list[str]:
        if not self.fs.exists(self.path):
            return []
        found = self.fs.find(self.path)
        return [p for p in found if p.endswith(".parquet") and f"/{WORK_DIR}/" not in p]

    # ---- reading -----------------------------------------------------------------------
    def part_paths(self) -> list[str]:
        """Filesystem paths of the finished parts, in manifest order (verified intact)."""
        return [self.join(part.name) for part in self.verified_manifest().parts]

    def part_uris(self) -> list[str]:
        """URIs of the finished parts (with protocol when remote), in manifest order (verified intact)."""
        return [f"{self.uri}/{part.name}" for part in self.verified_manifest().parts]

    def read_table(self, columns: list[str] | None = None) -> pa.Table:
        """All finished parts as one table (for small datasets and tests)."""
        tables = [read_part(uri, columns) for uri in self.part_uris()]
        if not tables:
            return pa.table({})
        return pa.concat_tables(tables, promote_options="default")

    def iter_batches(self, columns: list[str] | None = None, batch_rows: int = 8192) -> Iterator[pa.RecordBatch]:
        """Stream record batches over every finished part."""
        for uri in self.part_uris():
            yield from iter_part_batches(uri, columns, batch_rows)


def read_part(uri: str, columns: list[str] | None = None) -> pa.Table:
    """Read one Parquet part (local path or fsspec URL), optionally some columns."""
    fs, path = fsspec.core.url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle, columns=columns)


def iter_part_batches(uri: str, columns: list[str] | None = None, batch_rows: int = 8192) -> Iterator[pa.RecordBatch]:
    """Stream one Parquet part in record batches of at most `batch_rows` rows."""
    fs, path = fsspec.core.url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        yield from pq.ParquetFile(handle).iter_batches(batch_size=batch_rows, columns=columns)
