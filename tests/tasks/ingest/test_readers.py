"""Each format read from tiny literal files into the standard schema (tasks/ingest/readers.py)."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.readers import IngestError, plan_shards, read_shard

STANDARD = ["id", "text", "label", "encoding_error"]


def test_jsonl_with_label_id_extra_columns_and_mixed_types(tmp_path, read_all):
    path = tmp_path / "a.jsonl"
    path.write_text('{"doc": "good film", "y": 1, "key": 7, "ts": 5}\n\n{"doc": "bad film", "y": "neg", "key": 8, "ts": 6}\n')
    source = SourceConfig(uri=str(path), format="jsonl", text_column="doc", label_column="y", id_column="key", columns=["ts"], column_types={"ts": "int64"})
    table = read_all(source)
    assert table.column_names == ["id", "text", "label", "ts", "encoding_error"]
    assert table.to_pylist() == [
        {"id": "7", "text": "good film", "label": "1", "ts": 5, "encoding_error": False},
        {"id": "8", "text": "bad film", "label": "neg", "ts": 6, "encoding_error": False},
    ]
    assert table.schema.field("ts").type == pa.int64()


def test_json_array_file(tmp_path, read_all):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"text": "one", "label": "x"}, {"text": None, "label": None}]))
    table = read_all(SourceConfig(uri=str(path), format="json", label_column="label"))
    assert table.select(["text", "label"]).to_pylist() == [{"text": "one", "label": "x"}, {"text": "", "label": None}]


def test_csv_quoted_commas_and_newlines(tmp_path, read_all):
    path = tmp_path / "a.csv"
    path.write_bytes(b'label,review,extra\n1,"fine, really\nfine",a\n0,"say ""no""",b\n1,,c\n')
    source = SourceConfig(
        uri=str(path), format="csv", text_column="review", label_column="label", columns=["extra"], label_map={"1": "positive", "0": "negative"}
    )
    table = read_all(source, IngestConfig(batch_rows=2))
    assert table.select(["text", "label", "extra"]).to_pylist() == [
        {"text": "fine, really\nfine", "label": "positive", "extra": "a"},
        {"text": 'say "no"', "label": "negative", "extra": "b"},
        {"text": "", "label": "positive", "extra": "c"},  # empty review kept for clean to quarantine
    ]


def test_headerless_csv_needs_column_names(tmp_path, read_all):
    path = tmp_path / "h.csv"
    path.write_text('"3","Title","Body text"\n')
    source = SourceConfig(uri=str(path), format="csv", csv_column_names=["c", "title", "body"], text_column="body", label_column="c")
    assert read_all(source).select(["text", "label"]).to_pylist() == [{"text": "Body text", "label": "3"}]


def test_tsv_without_quoting(tmp_path, read_all):
    path = tmp_path / "a.tsv"
    path.write_text('label\tsentence\n1\t"quoted" start , fine\n0\tplain\n')
    table = read_all(SourceConfig(uri=str(path), format="tsv", text_column="sentence", label_column="label"))
    assert table.column("text").to_pylist() == ['"quoted" start , fine', "plain"]


def test_parquet_row_groups_become_shards(tmp_path, read_all):
    path = tmp_path / "a.parquet"
    table = pa.table({"text": [f"doc {i}" for i in range(100)], "n": list(range(100))})
    pq.write_table(table, path, row_group_size=10)
    source = SourceConfig(uri=str(path), format="parquet", columns=["n"])
    cfg = IngestConfig(shard_bytes=1, batch_rows=4)
    shards = plan_shards(source, cfg)
    assert len(shards) == 10
    out = read_all(source, cfg)
    assert out.column("text").to_pylist() == table.column("text").to_pylist()
    assert out.column("n").to_pylist() == list(range(100))  # native type kept
    assert out.column("id").to_pylist() == read_all(source).column("id").to_pylist()


def test_txt_line_and_file_modes(tmp_path, read_all):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("first line\n\nthird line\r\n")
    (folder / "b.txt").write_text("whole\nfile")
    (folder / "notes.md").write_text("not a txt file")
    lines = read_all(SourceConfig(uri=str(folder), format="txt"))
    assert lines.column("text").to_pylist() == ["first line", "", "third line", "whole", "file"]
    files = read_all(SourceConfig(uri=str(folder), format="txt", txt_mode="file"))
    assert files.column("text").to_pylist() == ["first line\n\nthird line\r\n", "whole\nfile"]


def test_glob_and_compressed_files(tmp_path, read_all):
    rows = [json.dumps({"text": f"t{i}"}) for i in range(5)]
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress("\n".join(rows[:2]).encode()))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress("\n".join(rows[2:]).encode()))
    (tmp_path / "c.csv").write_text("ignored by the glob")
    source = SourceConfig(uri=str(tmp_path / "*.jsonl.*"), format="jsonl")
    shards = plan_shards(source, IngestConfig(shard_bytes=1))
    assert [piece.compression for shard in shards for piece in shard.pieces] == ["gzip", "zstd"]
    assert read_all(source).column("text").to_pylist() == [f"t{i}" for i in range(5)]


def test_latin1_encoding_and_error_flags(tmp_path, read_all):
    path = tmp_path / "a.txt"
    path.write_bytes("café\n".encode("latin-1") + "naïve\n".encode())
    as_latin1 = read_all(SourceConfig(uri=str(path), format="txt", encoding="latin-1"))
    assert as_latin1.column("text").to_pylist() == ["café", "naÃ¯ve"]
    assert as_latin1.column("encoding_error").to_pylist() == [False, False]
    for policy in ("replace", "quarantine"):  # read the same; clean quarantines flagged rows under `quarantine`
        as_utf8 = read_all(SourceConfig(uri=str(path), format="txt", errors=policy))
        assert as_utf8.column("text").to_pylist() == ["caf\ufffd", "naïve"]
        assert as_utf8.column("encoding_error").to_pylist() == [True, False]


def test_missing_column_names_file_and_column(tmp_path, read_all):
    (tmp_path / "a.jsonl").write_text('{"body": "x"}\n')
    (tmp_path / "a.csv").write_text("body\nx\n")
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "a.parquet")
    for fmt in ("jsonl", "csv", "parquet"):
        with pytest.raises(IngestError, match=rf"a\.{fmt}.*missing column.*'text'"):
            read_all(SourceConfig(uri=str(tmp_path / f"a.{fmt}"), format=fmt))
    with pytest.raises(IngestError, match=r"a\.jsonl.*missing column.*'y'"):
        read_all(SourceConfig(uri=str(tmp_path / "a.jsonl"), format="jsonl", text_column="body", label_column="y"))


def test_corrupt_and_missing_inputs_raise_clear_errors(tmp_path, read_all):
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"text": broken\n')
    with pytest.raises(IngestError, match=r"bad\.jsonl: invalid JSON in the line at byte 15"):
        read_all(SourceConfig(uri=str(tmp_path / "bad.jsonl"), format="jsonl"))
    (tmp_path / "bad.jsonl.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(IngestError, match=r"bad\.jsonl\.gz: cannot read"):
        read_all(SourceConfig(uri=str(tmp_path / "bad.jsonl.gz"), format="jsonl"))
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 nonsense")
    with pytest.raises(IngestError, match=r"bad\.parquet: not a readable Parquet file"):
        plan_shards(SourceConfig(uri=str(tmp_path / "bad.parquet"), format="parquet"), IngestConfig())
    with pytest.raises(IngestError, match=r"nope\.jsonl: no such file"):
        plan_shards(SourceConfig(uri=str(tmp_path / "nope.jsonl"), format="jsonl"), IngestConfig())
    with pytest.raises(IngestError, match=r"no files"):
        plan_shards(SourceConfig(uri=str(tmp_path / "*.tsv"), format="tsv"), IngestConfig())


def test_file_deleted_after_planning(tmp_path):
    path = tmp_path / "gone.jsonl"
    path.write_text('{"text": "x"}\n')
    source = SourceConfig(uri=str(path), format="jsonl")
    shards = plan_shards(source, IngestConfig())
    path.unlink()
    with pytest.raises(IngestError, match=r"gone\.jsonl: file not found"):
        list(read_shard(shards[0], source, IngestConfig()))


def test_jsonl_keeps_date_like_strings_verbatim(tmp_path, read_all):
    (tmp_path / "d.jsonl").write_text('{"text": "2024-01-02", "when": "2024-01-02"}\n')
    table = read_all(SourceConfig(uri=str(tmp_path / "d.jsonl"), format="jsonl", columns=["when"]))
    assert table.select(["text", "when"]).to_pylist() == [{"text": "2024-01-02", "when": "2024-01-02"}]


def test_unquoted_tsv_is_cut_into_byte_ranges(tmp_path, read_all):
    path = tmp_path / "big.tsv"
    path.write_text("label\tsentence\n" + "".join(f"{i % 2}\tsentence number {i}\n" for i in range(300)))
    source = SourceConfig(uri=str(path), format="tsv", text_column="sentence", label_column="label")
    whole = read_all(source)
    assert whole.column("text").to_pylist() == [f"sentence number {i}" for i in range(300)]
    cfg = IngestConfig(shard_bytes=500, batch_rows=16)
    assert len(plan_shards(source, cfg)) > 5
    assert read_all(source, cfg).equals(whole)
    path.write_text("label\tsentence\n1\tfine\n0\ttoo\tmany\n")
    with pytest.raises(IngestError, match=r"big\.tsv: the line at byte 22 has 3 fields, expected 2"):
        read_all(source)


def test_quoted_csv_stays_one_shard_per_file(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("text\n" + '"multi\nline"\n' * 200)
    assert len(plan_shards(SourceConfig(uri=str(path), format="csv"), IngestConfig(shard_bytes=100))) == 1


def test_utf8_byte_order_mark_is_dropped(tmp_path, read_all):
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.jsonl").write_bytes(bom + b'{"text": "x"}\n')
    (tmp_path / "a.tsv").write_bytes(bom + b"text\tlabel\ny\t1\n")
    (tmp_path / "a.csv").write_bytes(bom + b"text,label\nz,1\n")
    for fmt, text in [("jsonl", "x"), ("tsv", "y"), ("csv", "z")]:
        table = read_all(SourceConfig(uri=str(tmp_path / f"a.{fmt}"), format=fmt))
        assert table.column("text").to_pylist() == [text]
