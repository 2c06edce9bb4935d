"""Stream one shard of a source as standard record batches (see `standard.py`), memory bounded by the batch.

Entry point: `read_shard(shard, source, cfg)`. One generator per format family:
lines (jsonl, txt line mode), csv/tsv (`delimited.py`), parquet (`iter_batches`),
whole files (json arrays, txt file mode), HF datasets (`hf.py`) and the demo corpora (`demo.py`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pjson
import pyarrow.parquet as pq

from tasks.ingest.binary import SNIFF_BYTES, TEXT_FORMATS, binary_cause
from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.delimited import read_delimited
from tasks.ingest.lines import iter_lines, line_chunks, open_piece
from tasks.ingest.shards import IngestError, Piece, Shard, plan_shards
from tasks.ingest.standard import decode_binary, is_utf8, to_standard

__all__ = ["IngestError", "Shard", "iter_lines", "plan_shards", "read_shard"]


def read_shard(shard: Shard, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    """Yield the shard's rows as standard record batches of at most `cfg.batch_rows` rows.

    Nothing is dropped (empty texts are kept). Raises `IngestError` naming the file and the cause
    when a file is missing, unreadable, corrupt or lacks a configured column.
    """
    for piece in shard.pieces:
        try:
            for batch in _read_piece(piece, source, cfg):
                for start in range(0, batch.num_rows, cfg.batch_rows):
                    yield batch.slice(start, cfg.batch_rows)
        except IngestError:
            raise
        except Exception as error:
            raise IngestError(f"{piece.uri}: cannot read: {type(error).__name__}: {error}") from error


def _refuse_binary(piece: Piece, source: SourceConfig) -> None:
    """`IngestError` naming the file when its first block looks binary (text formats, `errors: replace`)."""
    if piece.kind != "file" or source.format not in TEXT_FORMATS or source.errors == "quarantine":
        return
    with open_piece(piece, source) as f:
        cause = binary_cause(f.read(SNIFF_BYTES))
    if cause is not None:
        raise IngestError(
            f"{piece.uri}: looks like a binary file ({cause} in its first {SNIFF_BYTES} bytes), "
            f"not {source.format} text; remove it from the source (or set errors: quarantine "
            f"to quarantine such rows)"
        )


def _read_piece(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    _refuse_binary(piece, source)
    if piece.kind == "demo":
        from tasks.ingest.demo import demo_batches

        yield from demo_batches(source, cfg)
    elif piece.kind in ("hf_disk", "hf_hub"):
        from tasks.ingest.hf import read_hf

        yield from read_hf(piece, source, cfg)
    elif source.format == "parquet":
        yield from _read_parquet(piece, source, cfg)
    elif source.format in ("csv", "tsv"):
        yield from read_delimited(piece, source, cfg)
    elif source.format == "txt" and source.txt_mode == "file":
        yield from _read_txt_file(piece, source)
    elif source.format == "json":
        yield from _read_json_file(piece, source, cfg)
    else:
        yield from _read_lines(piece, source, cfg)


def _read_lines(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    is_json = source.format in ("jsonl", "json")
    for offsets, lines in line_chunks(piece, source, cfg, skip_blank=is_json):
        raw = pa.array(lines, pa.binary())
        if not is_json:
            yield to_standard(pa.table({"text": raw}), source, piece.uri, piece.rel, offsets)
            continue
        texts, flags = decode_binary(raw, source.encoding)
        clean = not pc.any(flags).as_py()
        payload = b"\n".join(lines) if clean and is_utf8(source.encoding) else "\n".join(texts.to_pylist()).encode()
        table = _parse_json_lines(payload, texts, offsets, piece.uri)
        yield to_standard(table, source, piece.uri, piece.rel, offsets, flags=flags, stringify=True)


def _parse_json_lines(payload: bytes, texts: pa.Array, offsets: list[int], where: str) -> pa.Table:
    """Parse UTF-8 JSON lines with pyarrow; fall back to `json` for mixed types or to locate an error."""
    try:
        options = pjson.ReadOptions(block_size=max(len(payload) + 1, 1 << 20), use_threads=False)
        table = pjson.read_json(io.BytesIO(payload), read_options=options)
        # pyarrow infers timestamps from ISO-like strings; take such batches through `json` to keep the text as is
        if table.num_rows == len(offsets) and not any(pa.types.is_temporal(f.type) for f in table.schema):
            return table
    except pa.ArrowInvalid:
        pass
    rows = []
    for offset, line in zip(offsets, texts.to_pylist()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise IngestError(f"{where}: invalid JSON in the line at byte {offset}: {error.msg}") from error
        if not isinstance(row, dict):
            raise IngestError(f"{where}: the line at byte {offset} is a JSON {type(row).__name__}, not an object")
        rows.append(row)
    return _rows_to_table(rows)


def _rows_to_table(rows: list[dict]) -> pa.Table:
    """Columns from Python dicts; a column whose values mix types becomes strings (JSON text for non-strings)."""
    names = list(dict.fromkeys(k for row in rows for k in row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[name] = pa.array([v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values], pa.string())
    return pa.table(columns) if columns else pa.table({"_": pa.nulls(len(rows))})


# --- whole files: JSON documents and txt file mode ---------------------------------------------


def _read_json_file(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    """A `.json` file: a top-level array of objects (read whole), otherwise JSON lines."""
    with open_piece(piece, source) as f:
        head = f.read(4096).lstrip()
    if not head.startswith(b"["):
        yield from _read_lines(piece, source, cfg)
        return
    with open_piece(piece, source) as f:
        data = f.read()
    texts, flags = decode_binary(pa.array([data], pa.binary()), source.encoding)
    try:
        rows = json.loads(texts[0].as_py())
    except json.JSONDecodeError as error:
        raise IngestError(f"{piece.uri}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from error
    if not all(isinstance(row, dict) for row in rows):
        raise IngestError(f"{piece.uri}: a JSON array file must hold objects only")
    bad = flags[0].as_py()
    for start in range(0, len(rows), cfg.batch_rows):
        chunk = rows[start : start + cfg.batch_rows]
        table = _rows_to_table(chunk)
        chunk_flags = pa.array([bad and "\ufffd" in json.dumps(row, ensure_ascii=False) for row in chunk], pa.bool_())
        yield to_standard(table, source, piece.uri, piece.rel, range(start, start + len(chunk)), flags=chunk_flags, stringify=True)


def _read_txt_file(piece: Piece, source: SourceConfig) -> Iterator[pa.RecordBatch]:
    """txt file mode: the whole file is one document."""
    with open_piece(piece, source) as f:
        data = f.read()
    yield to_standard(pa.table({"text": pa.array([data], pa.binary())}), source, piece.uri, piece.rel, [0])


# --- parquet -----------------------------------------------------------------------------------


def _read_parquet(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    """Read the piece's row groups with `iter_batches`, only the configured columns."""
    needed = list(dict.fromkeys(c for c in (source.text_column, source.label_column, source.id_column, *source.columns) if c))
    with open_piece(piece, source) as f:
        try:
            parquet = pq.ParquetFile(f)
        except Exception as error:
            raise IngestError(f"{piece.uri}: not a readable Parquet file: {error}") from error
        missing = [c for c in needed if c not in parquet.schema_arrow.names]
        if missing:
            raise IngestError(f"{piece.uri}: missing column(s) {missing}; found {parquet.schema_arrow.names}")
        end = parquet.metadata.num_row_groups if piece.end is None else piece.end
        row = piece.row_offset
        if end <= piece.start:
            return
        for batch in parquet.iter_batches(batch_size=cfg.batch_rows, row_groups=range(piece.start, end), columns=needed):
            yield to_standard(pa.Table.from_batches([batch]), source, piece.uri, piece.rel, range(row, row + batch.num_rows))
            row += batch.num_rows
