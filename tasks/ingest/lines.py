"""Byte-level access to one piece: open it (fsspec, decompressing) and iterate its lines by byte range."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import fsspec

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.shards import IngestError, Piece
from tasks.ingest.standard import is_utf8

UTF8_BOM = b"\xef\xbb\xbf"


def open_piece(piece: Piece, source: SourceConfig) -> IO[bytes]:
    """Open the piece's file for binary reading (decompressed); `IngestError` when missing or forbidden."""
    try:
        return fsspec.open(piece.uri, "rb", compression=piece.compression, **source.storage_options).open()
    except FileNotFoundError as error:
        raise IngestError(f"{piece.uri}: file not found") from error
    except PermissionError as error:
        raise IngestError(f"{piece.uri}: permission denied") from error


def iter_lines(f: IO[bytes], start: int, end: int | None, block: int) -> Iterator[tuple[int, bytes]]:
    """Yield `(byte offset, line)` for the lines of `f` that start in [start, end) (no newline, no CR)."""
    skip = start > 0  # the line around `start` belongs to the previous range
    pos = start - 1 if skip else 0
    if skip:
        f.seek(pos)
    tail = b""
    while True:
        chunk = f.read(block)
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        for line in parts:
            if skip:
                skip = False
            elif end is not None and pos >= end:
                return
            else:
                yield pos, line.removesuffix(b"\r")
            pos += len(line) + 1
        if not chunk:
            if tail and not skip and (end is None or pos < end):
                yield pos, tail.removesuffix(b"\r")
            return


def line_chunks(piece: Piece, source: SourceConfig, cfg: IngestConfig, skip_blank: bool) -> Iterator[tuple[list[int], list[bytes]]]:
    """The piece's lines as `(byte offsets, lines)` chunks of at most `cfg.batch_rows` (blank lines skipped on request)."""
    offsets: list[int] = []
    lines: list[bytes] = []
    with open_piece(piece, source) as f:
        for offset, line in iter_lines(f, piece.start, piece.end, cfg.read_block_bytes):
            if offset == 0 and line.startswith(UTF8_BOM) and is_utf8(source.encoding):
                line = line[len(UTF8_BOM) :]
            if skip_blank and not line.strip():
                continue
            offsets.append(offset)
            lines.append(line)
            if len(lines) >= cfg.batch_rows:
                yield offsets, lines
                offsets, lines = [], []
    if lines:
        yield offsets, lines
