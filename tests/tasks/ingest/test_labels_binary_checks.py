"""Label normalisation, binary input detection, and the source checks of `validate` / `validate --deep`."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tasks.common.errors import CorpusmillError
from tasks.ingest.checks import check_sources
from tasks.ingest.config import SourceConfig, expected_labels
from tasks.ingest.readers import IngestError


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_label_normalize_strip_lower_happens_before_label_map(tmp_path, read_all):
    path = _jsonl(tmp_path / "a.jsonl", [{"text": "a b c", "y": "Positive "}, {"text": "d e f", "y": " NEG"}, {"text": "g h i", "y": None}])
    source = SourceConfig(uri=str(path), format="jsonl", label_column="y", label_normalize="strip_lower", label_map={"neg": "negative"})
    assert read_all(source)["label"].to_pylist() == ["positive", "negative", None]
    plain = SourceConfig(uri=str(path), format="jsonl", label_column="y")
    assert read_all(plain)["label"].to_pylist() == ["Positive ", " NEG", None]
    strip = SourceConfig(uri=str(path), format="jsonl", label_column="y", label_normalize="strip")
    assert read_all(strip)["label"].to_pylist() == ["Positive", "NEG", None]


def test_label_options_need_a_label_column_and_union_across_sources():
    with pytest.raises(ValidationError, match="label_values"):
        SourceConfig(uri="x.jsonl", format="jsonl", label_values=["a"])
    with pytest.raises(ValidationError, match="label_normalize"):
        SourceConfig(uri="x.jsonl", format="jsonl", label_normalize="strip")
    a = SourceConfig(uri="x.jsonl", format="jsonl", label_column="y", label_values=["pos", "neg"])
    b = SourceConfig(uri="y.jsonl", format="jsonl", label_column="y", label_values=["neutral"])
    c = SourceConfig(uri="z.jsonl", format="jsonl")
    assert expected_labels([a, b, c]) == ["neg", "neutral", "pos"]
    assert expected_labels([c]) is None


BINARY = bytes(range(256)) * 8 + b"\x00\x00PK\x03\x04"


@pytest.mark.parametrize("fmt", ["txt", "csv", "tsv", "jsonl"])
def test_a_binary_file_is_refused_naming_the_file(tmp_path, read_all, fmt):
    path = tmp_path / f"blob.{fmt}"
    path.write_bytes(BINARY)
    with pytest.raises(IngestError, match=rf"blob.{fmt}: looks like a binary file \(NUL bytes"):
        read_all(SourceConfig(uri=str(path), format=fmt))


def test_control_characters_without_nul_are_binary_too(tmp_path, read_all):
    path = tmp_path / "ctl.txt"
    path.write_bytes(bytes([1, 2, 3, 4, 5, 6, 65]) * 200)
    with pytest.raises(IngestError, match="control characters"):
        read_all(SourceConfig(uri=str(path), format="txt"))


def test_with_errors_quarantine_binary_rows_are_flagged_not_refused(tmp_path, read_all):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"a normal line of text\n\x00\x01\x02\x03 junk\x00\nanother good line\n")
    table = read_all(SourceConfig(uri=str(path), format="txt", errors="quarantine"))
    assert table["text"].to_pylist()[0] == "a normal line of text"
    assert table["encoding_error"].to_pylist() == [False, True, False]


def test_ordinary_text_with_tabs_and_utf8_is_not_binary(tmp_path, read_all):
    path = tmp_path / "ok.tsv"
    path.write_text("text\tlabel\ncafé über naïve 中文\tpos\n", encoding="utf-8")
    assert read_all(SourceConfig(uri=str(path), format="tsv", label_column="label")).num_rows == 1


def test_check_sources_names_missing_paths_and_with_deep_missing_columns(tmp_path):
    good = _jsonl(tmp_path / "good.jsonl", [{"text": "a", "y": "p"}])
    sources = {
        "ok": [SourceConfig(uri=str(good), format="jsonl", label_column="y")],
        "missing": [SourceConfig(uri=str(tmp_path / "nope" / "*.jsonl"), format="jsonl")],
        "badcol": [SourceConfig(uri=str(good), format="jsonl", label_column="label")],
        "demo": [SourceConfig(uri="demo://reviews", format="demo")],
    }
    shallow = check_sources(sources)
    assert len(shallow) == 1 and shallow[0].startswith("pipelines.missing.source: ") and "nope" in shallow[0]
    deep = check_sources(sources, deep=True)
    assert len(deep) == 2 and deep[1].startswith("pipelines.badcol.source: ") and "missing column(s) ['label']" in deep[1]


def test_ingest_errors_are_user_errors():
    assert issubclass(IngestError, CorpusmillError)
