"""CSV / TSV: quoted files stream through pyarrow's block reader (one piece per file, since quoted
fields may hold newlines); unquoted files are one record per line, so they are read line by line and
can be cut into byte ranges like JSON lines. Values are read as bytes and decoded in `standard.py`."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pcsv

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.lines import UTF8_BOM, iter_lines, line_chunks, open_piece
from tasks.ingest.shards import IngestError, Piece
from tasks.ingest.standard import to_standard


def read_delimited(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    """Standard batches of one CSV/TSV piece (ids derive from the data row index, or the line's byte offset when unquoted)."""
    if source.quoted:
        yield from _read_quoted(piece, source, cfg)
    else:
        yield from _read_unquoted(piece, source, cfg)


def _needed(source: SourceConfig) -> list[str]:
    return list(dict.fromkeys(c for c in (source.text_column, source.label_column, source.id_column, *source.columns) if c))


def _read_quoted(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    needed = _needed(source)
    read_options = pcsv.ReadOptions(block_size=cfg.read_block_bytes, column_names=source.csv_column_names, use_threads=False)
    parse_options = pcsv.ParseOptions(delimiter=source.delimiter, quote_char='"', newlines_in_values=True)
    convert_options = pcsv.ConvertOptions(include_columns=needed, column_types={c: pa.binary() for c in needed})
    with open_piece(piece, source) as f:
        try:
            reader = pcsv.open_csv(f, read_options=read_options, parse_options=parse_options, convert_options=convert_options)
        except (pa.ArrowInvalid, pa.ArrowKeyError) as error:
            if "include_columns" in str(error):
                raise IngestError(f"{piece.uri}: missing column ({error}); set csv_column_names for a file without a header") from error
            raise IngestError(f"{piece.uri}: cannot parse CSV: {error}") from error
        row = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as error:
                hint = "; a row longer than ingest.read_block_bytes needs a larger value" if "straddling" in str(error) else ""
                raise IngestError(f"{piece.uri}: cannot parse CSV after data row {row}: {error}{hint}") from error
            yield to_standard(pa.Table.from_batches([batch]), source, piece.uri, piece.rel, range(row, row + batch.num_rows))
            row += batch.num_rows


def _header(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> list[str]:
    """Column names: `csv_column_names`, else the file's first line (read by every byte range)."""
    if source.csv_column_names is not None:
        return source.csv_column_names
    with open_piece(piece, source) as f:
        first = next(iter_lines(f, 0, None, min(cfg.read_block_bytes, 65536)), (0, b""))[1].removeprefix(UTF8_BOM)
    return first.decode(source.encoding, errors="replace").split(source.delimiter)


def _read_unquoted(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    names = _header(piece, source, cfg)
    missing = [c for c in _needed(source) if c not in names]
    if missing:
        raise IngestError(f"{piece.uri}: missing column(s) {missing}; found {names}; set csv_column_names for a file without a header")
    delimiter = source.delimiter.encode()
    has_header = source.csv_column_names is None
    for offsets, lines in line_chunks(piece, source, cfg, skip_blank=True):
        if has_header and offsets[0] == 0:
            offsets, lines = offsets[1:], lines[1:]
            if not lines:
                continue
        for offset, line in zip(offsets, lines):
            if line.count(delimiter) != len(names) - 1:
                raise IngestError(f"{piece.uri}: the line at byte {offset} has {line.count(delimiter) + 1} fields, expected {len(names)}")
        payload = b"\n".join(lines)
        table = pcsv.read_csv(
            io.BytesIO(payload),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=max(len(payload) + 1, 1 << 20)),
            parse_options=pcsv.ParseOptions(delimiter=source.delimiter, quote_char=False),
            convert_options=pcsv.ConvertOptions(include_columns=_needed(source), column_types={c: pa.binary() for c in _needed(source)}),
        )
        yield to_standard(table, source, piece.uri, piece.rel, offsets)
