"""Shard planning: byte ranges align on newlines, any shard size yields the same rows and ids."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.lines import iter_lines
from tasks.ingest.readers import plan_shards
from tasks.ingest.shards import Shard


def _write_corpus(folder):
    folder.mkdir(exist_ok=True)
    texts = ["same text"] * 30 + [f"doc {i} " + "x" * (i % 17) for i in range(200)]
    (folder / "a.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in texts[:130]) + "\n")
    (folder / "b.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in texts[130:]))  # no final newline
    (folder / "_manifest.json").write_text("{}")  # underscore files are not data
    return texts


def test_rows_and_ids_do_not_depend_on_shard_size(tmp_path, read_all):
    texts = _write_corpus(tmp_path / "corpus")
    source = SourceConfig(uri=str(tmp_path / "corpus"), format="jsonl")
    reference = read_all(source)
    assert reference.column("text").to_pylist() == texts
    ids = reference.column("id").to_pylist()
    assert len(set(ids)) == len(ids)  # unique although 30 texts are identical
    for shard_bytes, batch_rows in [(1, 1), (37, 3), (500, 7), (4096, 100)]:
        cfg = IngestConfig(shard_bytes=shard_bytes, batch_rows=batch_rows)
        assert len(plan_shards(source, cfg)) > 1
        again = read_all(source, cfg)
        assert again.column("id").to_pylist() == ids
        assert again.column("text").to_pylist() == texts


def test_ids_stable_across_runs_and_locations(tmp_path, read_all):
    _write_corpus(tmp_path / "one")
    _write_corpus(tmp_path / "two")
    first = read_all(SourceConfig(uri=str(tmp_path / "one"), format="jsonl")).column("id").to_pylist()
    second = read_all(SourceConfig(uri=str(tmp_path / "two" / "*.jsonl"), format="jsonl")).column("id").to_pylist()
    assert first == second  # ids hash the path relative to the source root, not the absolute path


def test_small_files_are_packed_into_one_shard(tmp_path):
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text("a\nb\n")
    shards = plan_shards(SourceConfig(uri=str(tmp_path), format="txt"), IngestConfig(shard_bytes=1000))
    assert len(shards) == 1 and len(shards[0].pieces) == 5


def test_shard_round_trips_through_json(tmp_path):
    _write_corpus(tmp_path / "c")
    shards = plan_shards(SourceConfig(uri=str(tmp_path / "c"), format="jsonl"), IngestConfig(shard_bytes=100))
    assert [Shard.model_validate_json(s.model_dump_json()) for s in shards] == shards


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"")), min_size=0, max_size=12),
    final_newline=st.booleans(),
    cut=st.integers(1, 40),
    block=st.integers(1, 9),
)
def test_byte_ranges_partition_the_lines(lines, final_newline, cut, block):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    whole = [line for _, line in iter_lines(io.BytesIO(data), 0, None, block)]
    pieces = []
    for start in range(0, len(data), cut):
        pieces += [line for _, line in iter_lines(io.BytesIO(data), start, min(start + cut, len(data)), block)]
    assert pieces == whole
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    assert whole == [line.removesuffix(b"\r") for line in expected]
