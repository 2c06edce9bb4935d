"""Binary input detection for the text formats (txt, csv, tsv, jsonl, json).

A file is binary when the first `SNIFF_BYTES` of it hold a NUL byte, or when more than
`CONTROL_SHARE` of them are control characters other than tab, newline, carriage return, form
feed, vertical tab, backspace and escape (the test `git` and `file` use, plus a share). With
`errors: replace` such a file is refused (`IngestError` naming it); with `errors: quarantine`
rows are judged one by one instead and binary rows are flagged like undecodable ones (the clean
stage quarantines them with reason `encoding`).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

SNIFF_BYTES = 8192
CONTROL_SHARE = 0.3
TEXT_FORMATS = ("txt", "csv", "tsv", "jsonl", "json")
_ALLOWED = b"\t\n\r\f\v\b\x1b"
CONTROL_BYTES = bytes(b for b in [*range(32), 127] if b not in _ALLOWED)
_CONTROL_REGEX = "[" + "".join(f"\\x{b:02x}" for b in CONTROL_BYTES) + "]"


def binary_cause(block: bytes) -> str | None:
    """Why `block` (the start of a file) is binary, or None when it looks like text."""
    if b"\x00" in block:
        return "NUL bytes"
    if not block:
        return None
    control = len(block) - len(block.translate(None, CONTROL_BYTES))
    share = control / len(block)
    return f"{share:.0%} control characters" if share > CONTROL_SHARE else None


def binary_rows(text: pa.Array) -> pa.Array:
    """Per row of a string array: True when it holds a NUL or more than `CONTROL_SHARE` control characters."""
    text = pc.fill_null(text, "")
    control = pc.count_substring_regex(text, _CONTROL_REGEX)
    length = pc.max_element_wise(pc.utf8_length(text), 1)
    too_many = pc.greater(pc.divide(pc.cast(control, pa.float64()), pc.cast(length, pa.float64())), CONTROL_SHARE)
    return pc.or_(pc.match_substring(text, "\x00"), too_many)
