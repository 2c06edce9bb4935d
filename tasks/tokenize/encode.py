"""Encode a table's text column into an Arrow `list<int32>` column of token ids plus lengths.

The tokenizer encodes a whole batch of rows in Rust (`encode_batch`, parallel over rows; its
`encode_batch_fast` variant measured no faster here); the ids of all rows are flattened
into one numpy int32 buffer and wrapped as `pa.ListArray.from_arrays(offsets, values)`, so no
Python object is built per token beyond the ids list the binding returns per row.

ASCII fast path: pure-ASCII rows (found with `pc.string_is_ascii`, vectorised) are encoded by a
copy of the tokenizer without the steps that are provably the identity on ASCII text: Unicode
normal forms (NFKC, ...) and the CJK-isolating `Split` pre-tokenizer. The ids are the same; the
Rust work is ~15 % smaller on English text (`bench/tokenize.py`). A tokenizer whose pipeline has
none of those steps is used as it is.
"""

from __future__ import annotations

import json
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tokenizers import Tokenizer

from tasks.tokenize.config import TokenizeConfig
from tasks.tokenize.trainer import CJK_PATTERN

IDS_COLUMN = "input_ids"
LENGTH_COLUMN = "length"
DEFAULT_BATCH_ROWS = 8192
ASCII_IDENTITY_NORMALIZERS = {"NFC", "NFD", "NFKC", "NFKD"}


def ascii_variant(tokenizer: Tokenizer) -> Tokenizer | None:
    """A copy of `tokenizer` without its ASCII-identity steps (Unicode normal forms, the CJK
    `Split`), or None when it has none. On ASCII text both give the same ids."""
    spec = json.loads(tokenizer.to_str())
    dropped = 0
    normalizer = spec.get("normalizer")
    if normalizer and normalizer["type"] in ASCII_IDENTITY_NORMALIZERS:
        spec["normalizer"], dropped = None, dropped + 1
    elif normalizer and normalizer["type"] == "Sequence":
        kept = [n for n in normalizer["normalizers"] if n["type"] not in ASCII_IDENTITY_NORMALIZERS]
        dropped += len(normalizer["normalizers"]) - len(kept)
        normalizer["normalizers"] = kept
    pre = spec.get("pre_tokenizer")
    if pre and pre["type"] == "Sequence":
        kept = [p for p in pre["pretokenizers"] if not (p["type"] == "Split" and p["pattern"].get("Regex") == CJK_PATTERN)]
        dropped += len(pre["pretokenizers"]) - len(kept)
        pre["pretokenizers"] = kept
    return Tokenizer.from_str(json.dumps(spec)) if dropped else None


def _ids(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


def encode_texts(
    texts: list[str], tokenizer: Tokenizer, max_length: int, ascii_tokenizer: Tokenizer | None = None, is_ascii: np.ndarray | None = None
) -> pa.ListArray:
    """Texts -> `list<int32>` array of each text's first `max_length` token ids ("" -> []).
    With `ascii_tokenizer` (from `ascii_variant`) and the `is_ascii` mask, ASCII rows go through it."""
    if ascii_tokenizer is None or is_ascii is None or not is_ascii.any():
        id_lists = _ids(tokenizer, texts)
    elif is_ascii.all():
        id_lists = _ids(ascii_tokenizer, texts)
    else:
        fast, slow = np.flatnonzero(is_ascii), np.flatnonzero(~is_ascii)
        id_lists = [[]] * len(texts)
        for rows, tok in ((fast, ascii_tokenizer), (slow, tokenizer)):
            for row, ids in zip(rows.tolist(), _ids(tok, [texts[i] for i in rows.tolist()])):
                id_lists[row] = ids
    lengths = np.fromiter(map(len, id_lists), dtype=np.int32, count=len(id_lists))
    if lengths.size and lengths.max(initial=0) > max_length:
        id_lists = [ids[:max_length] for ids in id_lists]
        np.minimum(lengths, max_length, out=lengths)
    offsets = np.zeros(len(id_lists) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.fromiter(chain.from_iterable(id_lists), dtype=np.int32, count=int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def encode_table(table: pa.Table, tokenizer: Tokenizer, cfg: TokenizeConfig, text_column: str = "text", batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.Table:
    """Table with a string `text_column` + trained tokenizer -> the same table plus `input_ids`
    (`list<int32>`, at most `cfg.max_length` ids, no special tokens added) and `length` (int32).
    Null or empty text gives an empty list. Rows are encoded `batch_rows` at a time, which bounds
    the memory held by the tokenizer's `Encoding` objects. The tokenizer must not pad."""
    if tokenizer.padding is not None:
        raise ValueError("encode_table needs a tokenizer without padding (call tokenizer.no_padding())")
    if text_column not in table.column_names:
        raise KeyError(f"column {text_column!r} not in table columns {table.column_names}")
    fast = ascii_variant(tokenizer)
    column = pc.fill_null(table[text_column], "")
    chunks = []
    for start in range(0, max(table.num_rows, 1), batch_rows):
        piece = column.slice(start, batch_rows)
        is_ascii = pc.string_is_ascii(piece).to_numpy(zero_copy_only=False) if fast is not None else None
        chunks.append(encode_texts(piece.to_pylist(), tokenizer, cfg.max_length, fast, is_ascii))
    ids = pa.chunked_array(chunks, type=pa.list_(pa.int32()))
    lengths = pa.chunked_array([chunk.value_lengths() for chunk in chunks], type=pa.int32())
    return table.append_column(IDS_COLUMN, ids).append_column(LENGTH_COLUMN, lengths)
