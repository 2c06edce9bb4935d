"""`normalize`: mojibake repair (ftfy), Unicode NFKC, HTML entities and tags, control characters, whitespace.

Vectorised with pyarrow.compute; ftfy and html.unescape only see the rows a regex flags as suspect.
The pass is repeated on changed rows until nothing changes, so `normalize` is idempotent by construction.
"""

from __future__ import annotations

import html
import unicodedata

import ftfy
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.clean.base import RowStep, StepOutput, StepParams

# Two adjacent Latin-1 / Windows-1252 range characters: the fingerprint of UTF-8 decoded as Latin-1.
MOJIBAKE_SUSPECT = r"[\x{80}-\x{2FF}\x{2010}-\x{20AC}\x{2122}][\x{80}-\x{2FF}\x{2010}-\x{20AC}\x{2122}]|\x{FFFD}"
HTML_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?"
HTML_TAG = r"<!--.*?-->|</?[A-Za-z][^<>]{0,500}>"
CONTROL = r"[\x{00}-\x{08}\x{0B}\x{0C}\x{0E}-\x{1F}\x{7F}-\x{9F}\x{200B}-\x{200D}\x{2060}\x{FEFF}]"
MAX_PASSES = 6
FTFY_CONFIG = ftfy.TextFixerConfig(unescape_html=False, normalization="NFKC", uncurl_quotes=False, fix_line_breaks=True)


def _python_on_matches(text: pa.Array, pattern: str, fn) -> pa.Array:
    """Apply a Python str -> str function only to the rows that match `pattern`."""
    mask = pc.match_substring_regex(text, pattern)
    if not pc.any(mask).as_py():
        return text
    indices = pc.indices_nonzero(mask).to_numpy()
    values = text.to_pylist()
    for i in indices:
        values[i] = fn(values[i])
    return pa.array(values, pa.string())


class NormalizeParams(StepParams):
    """Unicode NFKC, ftfy mojibake repair, HTML tags/entities, control characters, whitespace."""

    nfkc: bool = True
    fix_mojibake: bool = True
    strip_html: bool = True
    lowercase: bool = False


def normalize_pass(text: pa.Array, params: NormalizeParams) -> pa.Array:
    """One pass of every enabled transform over a string array; returns the new array."""
    if params.fix_mojibake:
        text = _python_on_matches(text, MOJIBAKE_SUSPECT, lambda s: ftfy.fix_text(s, FTFY_CONFIG))
    if params.nfkc:
        # pc.utf8_normalize never composes in pyarrow 25 (apache/arrow#51225, NFKC gives "e\u0301" for "é"),
        # so rows holding any non-ASCII character go through unicodedata (C speed); ASCII is already NFKC.
        text = _python_on_matches(text, r"[^\x00-\x7F]", lambda s: unicodedata.normalize("NFKC", s))
    if params.strip_html:
        text = _python_on_matches(text, HTML_ENTITY, html.unescape)
        text = pc.replace_substring_regex(text, HTML_TAG, " ")
    text = pc.replace_substring_regex(text, r"\r\n?", "\n")
    text = pc.replace_substring_regex(text, CONTROL, "")
    text = pc.replace_substring_regex(text, r"[^\S\n]+", " ")
    text = pc.replace_substring_regex(text, r" ?\n ?", "\n")
    text = pc.replace_substring_regex(text, r"\n{3,}", "\n\n")
    text = pc.utf8_trim_whitespace(text)
    if params.lowercase:
        text = pc.utf8_lower(text)
    return text


def normalize_text(text: pa.Array | pa.ChunkedArray, params: NormalizeParams) -> pa.Array:
    """Normalise a string column to its fixpoint (at most MAX_PASSES passes over the rows still changing)."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    current = normalize_pass(text, params)
    pending = pc.indices_nonzero(pc.not_equal(current, text)).to_numpy()
    for _ in range(MAX_PASSES - 1):
        if len(pending) == 0:
            break
        before = pc.take(current, pending)
        after = normalize_pass(before, params)
        moved = pc.not_equal(after, before).to_numpy(zero_copy_only=False)
        pending = pending[moved]
        mask = np.zeros(len(current), dtype=bool)
        mask[pending] = True
        current = pc.replace_with_mask(current, pa.array(mask), pc.filter(after, pa.array(moved)))
    return current


class Normalize(RowStep):
    """Rewrite text to its normal form; rows left empty are dropped with reason `empty`."""

    name = "normalize"
    params_class = NormalizeParams

    def __init__(self, params: NormalizeParams) -> None:
        self.params = params

    def process(self, text: pa.ChunkedArray) -> StepOutput:
        new = normalize_text(text, self.params)
        empty = pc.equal(pc.utf8_length(new), 0)
        reasons = pc.if_else(empty, pa.scalar("empty"), pa.nulls(len(new), pa.string()))
        return StepOutput(text=new, reasons=reasons)
