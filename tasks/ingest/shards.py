"""Cut a source into shards without reading it: files, newline-aligned byte ranges, row-group ranges.

A `Shard` is a small frozen, JSON-serialisable list of `Piece`s; each piece is one file (or HF
dataset / demo corpus) with a range in the unit of its format:
- jsonl, txt lines, unquoted csv/tsv, uncompressed: bytes [start, end); a piece owns the lines
  that START inside it (a csv header line is read from the file's start by every piece);
- parquet: row groups [start, end); hf folder: rows [start, end);
- compressed files, quoted csv, json, txt files, demo: the whole input (start 0, end None).
Small pieces are packed together until a shard holds about `shard_bytes` of input.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any, Literal

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.utils import infer_compression
from pydantic import BaseModel, ConfigDict

from tasks.common.errors import CorpusmillError
from tasks.ingest.config import IngestConfig, SourceConfig

COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")
FOLDER_SUFFIXES = {
    "jsonl": (".jsonl", ".ndjson", ".json"),
    "json": (".json", ".jsonl"),
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "parquet": (".parquet", ".pq"),
    "txt": (".txt",),
}
GLOB_CHARS = "*?["


class IngestError(CorpusmillError, RuntimeError):
    """The input cannot be read: the message names the file (or source) and the cause."""


class Piece(BaseModel):
    """One input (file, HF dataset or demo corpus) and the part of it a shard reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["file", "hf_disk", "hf_hub", "demo"] = "file"
    uri: str
    rel: str = ""  # path relative to the source root: the stable part of derived ids
    compression: str | None = None
    start: int = 0
    end: int | None = None  # exclusive; None = to the end
    row_offset: int = 0  # index of the piece's first row in its file (parquet, hf)
    nbytes: int = 0  # input bytes, for packing and logging


class Shard(BaseModel):
    """The unit of work of one ingest task: pieces read one after the other."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    pieces: tuple[Piece, ...]

    @property
    def nbytes(self) -> int:
        """Input bytes this shard covers (compressed size for compressed files)."""
        return sum(p.nbytes for p in self.pieces)


def plan_shards(source: SourceConfig, cfg: IngestConfig, id_namespace: str = "") -> list[Shard]:
    """List the source (metadata only, no full read) and cut it into shards of about `cfg.shard_bytes`.

    `id_namespace` prefixes the relative paths that derived ids hash, so that two sources of one
    pipeline never derive the same id. Raises `IngestError` when the source is missing, empty or
    unreadable.
    """
    if source.format == "demo":
        pieces = [Piece(kind="demo", uri=source.uri, rel=source.demo_name)]
    elif source.format == "hf":
        from tasks.ingest.hf import plan_hf

        pieces = plan_hf(source, cfg)
    else:
        pieces = [piece for path, size, rel in list_files(source) for piece in _file_pieces(path, size, rel, source, cfg)]
    if id_namespace:
        pieces = [piece.model_copy(update={"rel": id_namespace + piece.rel}) for piece in pieces]
    return _pack(pieces, cfg.shard_bytes)


def list_files(source: SourceConfig) -> list[tuple[str, int, str]]:
    """Expand the source URI (file, glob or folder) to sorted `(uri, size, path relative to root)`."""
    try:
        fs, path = fsspec.core.url_to_fs(source.uri, **source.storage_options)
        if any(c in path for c in GLOB_CHARS):
            root = path[: min(path.find(c) for c in GLOB_CHARS if c in path)].rsplit("/", 1)[0]
            found = {p: info for p, info in fs.glob(path, detail=True).items() if info.get("type") == "file"}
        elif fs.isdir(path):
            root = path
            suffixes = FOLDER_SUFFIXES[source.format]
            found = {
                p: info
                for p, info in fs.find(path, detail=True).items()
                if _strip_compression(p).lower().endswith(suffixes) and not any(part.startswith((".", "_")) for part in posixpath.relpath(p, path).split("/"))
            }
        elif fs.isfile(path):
            root = posixpath.dirname(path)
            found = {path: fs.info(path)}
        else:
            raise IngestError(f"{source.uri}: no such file or folder")
    except IngestError:
        raise
    except Exception as error:  # listing a remote store can fail in many ways
        raise IngestError(f"{source.uri}: cannot list the source: {type(error).__name__}: {error}") from error
    if not found:
        what = f"files ending in {FOLDER_SUFFIXES[source.format]}" if fs.isdir(path) else "files"
        raise IngestError(f"{source.uri}: no {what} found")
    local = isinstance(fs, LocalFileSystem)
    return [
        (p if local else fs.unstrip_protocol(p), int(info.get("size") or 0), posixpath.relpath(p, root) if root else p) for p, info in sorted(found.items())
    ]


def _strip_compression(path: str) -> str:
    for suffix in COMPRESSED_SUFFIXES:
        if path.lower().endswith(suffix):
            return path[: -len(suffix)]
    return path


def _file_pieces(uri: str, size: int, rel: str, source: SourceConfig, cfg: IngestConfig) -> Iterator[Piece]:
    compression = infer_compression(uri)
    if source.format == "parquet" and compression is None:
        yield from _parquet_pieces(uri, rel, source, cfg)
    elif source.line_based and compression is None and size > cfg.shard_bytes:
        for start in range(0, size, cfg.shard_bytes):
            end = min(start + cfg.shard_bytes, size)
            yield Piece(uri=uri, rel=rel, start=start, end=end, nbytes=end - start)
    else:
        yield Piece(uri=uri, rel=rel, compression=compression, nbytes=size)


def _parquet_pieces(uri: str, rel: str, source: SourceConfig, cfg: IngestConfig) -> Iterator[Piece]:
    """Group consecutive row groups of one Parquet file into pieces of about `shard_bytes` (from the footer)."""
    import pyarrow.parquet as pq

    try:
        with fsspec.open(uri, "rb", **source.storage_options) as f:
            meta = pq.ParquetFile(f).metadata
    except Exception as error:
        raise IngestError(f"{uri}: not a readable Parquet file: {type(error).__name__}: {error}") from error
    start, offset, acc, rows_before = 0, 0, 0, 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        acc += sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        offset += group.num_rows
        if acc >= cfg.shard_bytes or i == meta.num_row_groups - 1:
            yield Piece(uri=uri, rel=rel, start=start, end=i + 1, row_offset=rows_before, nbytes=acc)
            start, acc, rows_before = i + 1, 0, offset
    if meta.num_row_groups == 0:
        yield Piece(uri=uri, rel=rel, start=0, end=0)


def _pack(pieces: list[Piece], shard_bytes: int) -> list[Shard]:
    """Greedily pack consecutive pieces into shards of about `shard_bytes` input bytes."""
    shards: list[Shard] = []
    current: list[Piece] = []
    acc = 0
    for piece in pieces:
        if current and acc + piece.nbytes > shard_bytes:
            shards.append(Shard(index=len(shards), pieces=tuple(current)))
            current, acc = [], 0
        current.append(piece)
        acc += piece.nbytes
    if current:
        shards.append(Shard(index=len(shards), pieces=tuple(current)))
    return shards


def describe(shards: list[Shard]) -> dict[str, Any]:
    """Small summary of a plan for logs: shard count, pieces, input bytes."""
    return {"shards": len(shards), "pieces": sum(len(s.pieces) for s in shards), "bytes": sum(s.nbytes for s in shards)}
