"""SourceConfig / IngestConfig validation: bad combinations are rejected with the key named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasks.ingest.config import IngestConfig, SourceConfig


def test_defaults():
    source = SourceConfig(uri="data/*.jsonl", format="jsonl")
    assert (source.text_column, source.label_column, source.encoding, source.errors) == ("text", None, "utf-8", "replace")
    assert IngestConfig().batch_rows == 8192 and IngestConfig().shard_bytes == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uri": "data.jsonl", "format": "demo"}, "demo://"),
        ({"uri": "demo://films", "format": "demo"}, "demo://"),
        ({"uri": "demo://reviews", "format": "jsonl"}, "format: demo"),
        ({"uri": "a.csv", "format": "csv", "rows": 5}, "rows applies only"),
        ({"uri": "a.jsonl", "format": "jsonl", "csv_delimiter": ";"}, "csv/tsv"),
        ({"uri": "a.csv", "format": "csv", "csv_delimiter": ";;"}, "one character"),
        ({"uri": "a.jsonl", "format": "jsonl", "encoding": "klingon"}, "unknown encoding"),
        ({"uri": "a.jsonl", "format": "jsonl", "encoding": "utf-16"}, "ASCII-compatible"),
        ({"uri": "a.jsonl", "format": "jsonl", "columns": ["ts"], "column_types": {"ts": "int65"}}, "column_types.ts"),
        ({"uri": "a.jsonl", "format": "jsonl", "column_types": {"ts": "int64"}}, "not listed in columns"),
        ({"uri": "a.jsonl", "format": "jsonl", "columns": ["label"]}, "standard names"),
        ({"uri": "a.jsonl", "format": "jsonl", "txt_mode": "file"}, "txt_mode"),
        ({"uri": "a.jsonl", "format": "jsonl", "bogus": 1}, "bogus"),
    ],
)
def test_rejects(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        SourceConfig(**kwargs)


def test_demo_name():
    assert SourceConfig(uri="demo://news", format="demo", rows=10).demo_name == "news"


def test_txt_has_only_text():
    with pytest.raises(ValidationError, match="format txt has only text"):
        SourceConfig(uri="a.txt", format="txt", label_column="y")


def test_csv_defaults_per_format():
    assert SourceConfig(uri="a.csv", format="csv").quoted and not SourceConfig(uri="a.tsv", format="tsv").quoted
    assert SourceConfig(uri="a.tsv", format="tsv").delimiter == "\t"
    assert SourceConfig(uri="a.tsv", format="tsv", csv_quoting=True).line_based is False
