"""Turn a parsed batch of any format into the standard row schema of corpusmill.

Standard schema: `id: string` (given or derived), `text: string` (never null; empty kept),
`label: string` (nullable), the carried `columns`, `encoding_error: bool`.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from tasks.ingest.binary import TEXT_FORMATS, binary_rows
from tasks.ingest.config import SourceConfig
from tasks.ingest.shards import IngestError

ID_BYTES = 10  # 80-bit ids: collisions negligible below ~1e10 rows


def derive_ids(rel: str, keys: Sequence[int]) -> pa.Array:
    """Ids from (path relative to the source root, position in the file): unique, stable across runs."""
    prefix = rel.encode("utf-8") + b"\x00"
    return pa.array([hashlib.blake2b(prefix + str(k).encode(), digest_size=ID_BYTES).hexdigest() for k in keys], pa.string())


def is_utf8(encoding: str) -> bool:
    """True when `encoding` names UTF-8 (any spelling)."""
    return codecs.lookup(encoding).name == "utf-8"


def decode_binary(values: pa.Array, encoding: str) -> tuple[pa.Array, pa.Array]:
    """Decode a binary array with `encoding`: (strings, flags) where a flag marks undecodable bytes.

    Undecodable values hold the replacement-decoded string (U+FFFD). UTF-8 is validated in bulk and
    only decoded value by value when some value is invalid.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if is_utf8(encoding):
        try:
            return values.cast(pa.string()), pa.array([False] * len(values), pa.bool_())
        except pa.ArrowInvalid:
            pass
    texts: list[str | None] = []
    flags: list[bool] = []
    for raw in values.to_pylist():
        if raw is None:
            texts.append(None)
            flags.append(False)
            continue
        try:
            texts.append(raw.decode(encoding))
            flags.append(False)
        except UnicodeDecodeError:
            texts.append(raw.decode(encoding, errors="replace"))
            flags.append(True)
    return pa.array(texts, pa.string()), pa.array(flags, pa.bool_())


def to_standard(
    table: pa.Table, source: SourceConfig, where: str, rel: str, keys: Sequence[int], flags: pa.Array | None = None, stringify: bool = False
) -> pa.RecordBatch:
    """Select, decode and cast the source's columns of `table` into one standard record batch.

    `where` names the file for errors, `keys` are the rows' positions for derived ids, `flags` are
    encoding errors found while decoding the raw bytes, `stringify` casts scalar extra columns to
    string (text formats, whose inferred types vary from batch to batch).
    """
    needed = [c for c in (source.text_column, source.label_column, source.id_column, *source.columns) if c]
    if source.format == "txt":
        needed = needed[1:]
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise IngestError(f"{where}: missing column(s) {missing}; found {table.column_names}")
    error = flags if flags is not None else pa.array([False] * table.num_rows, pa.bool_())

    def string_column(name: str) -> pa.Array:
        nonlocal error
        column = table.column(name).combine_chunks()
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            column, bad = decode_binary(column, source.encoding)
            error = pc.or_(error, bad)
        elif not pa.types.is_string(column.type):
            try:
                column = column.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise IngestError(f"{where}: column {name!r} of type {column.type} cannot be read as text") from exc
        return column

    text = pc.fill_null(string_column("text" if source.format == "txt" else source.text_column), "")
    if source.errors == "quarantine" and source.format in TEXT_FORMATS:
        error = pc.or_(error, binary_rows(text))
    label = pa.nulls(table.num_rows, pa.string())
    if source.label_column:
        label = normalize_labels(string_column(source.label_column), source.label_normalize)
        if source.label_map:
            mapping = source.label_map
            label = pa.array([mapping.get(v, v) if v is not None else None for v in label.to_pylist()], pa.string())
    if source.id_column:
        ids = string_column(source.id_column)
        if ids.null_count:
            raise IngestError(f"{where}: id column {source.id_column!r} has {ids.null_count} null value(s)")
    else:
        ids = derive_ids(rel, keys)
    names, arrays = ["id", "text", "label"], [ids, text, label]
    for name in source.columns:
        arrays.append(_extra_column(table.column(name).combine_chunks(), name, source, string_column, stringify, where))
        names.append(name)
    names.append("encoding_error")
    arrays.append(error)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def normalize_labels(label: pa.Array, how: str) -> pa.Array:
    """`strip`: trim surrounding whitespace; `strip_lower`: trim and lower-case; `none`: as is."""
    if how == "none":
        return label
    label = pc.utf8_trim_whitespace(label)
    return pc.utf8_lower(label) if how == "strip_lower" else label


def _extra_column(column: pa.Array, name: str, source: SourceConfig, string_column, stringify: bool, where: str) -> pa.Array:
    """A carried column: decoded if binary, cast to its declared type, else native (or string)."""
    if pa.types.is_binary(column.type) or (stringify and _is_scalar(column.type)):
        column = string_column(name)
    alias = source.column_types.get(name)
    if alias is None:
        return column
    try:
        return column.cast(pa.type_for_alias(alias))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise IngestError(f"{where}: column {name!r} cannot be cast to {alias}: {exc}") from exc


def _is_scalar(kind: pa.DataType) -> bool:
    return not (pa.types.is_nested(kind) or pa.types.is_dictionary(kind))
