"""Dataset handles: atomic parts, manifests written last, resume of finished parts, reuse by cache key."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tasks.common.dataset import MANIFEST_NAME, DatasetHandle, InputRef, cache_key
from tasks.common.stage import config_hash, merge_counters, start_stage


def _batches(n: int):
    for start in range(0, n, 2):
        yield pa.record_batch({"id": [str(i) for i in range(start, min(n, start + 2))]})


def test_part_is_invisible_until_commit_and_manifest_is_written_last(tmp_path):
    out = DatasetHandle(str(tmp_path / "clean"))
    part = out.write_part("k1", "part-00000.parquet", _batches(5))
    assert part.rows == 5
    assert out.read_manifest() is None
    assert list((tmp_path / "clean").glob("*.parquet")) == []
    manifest = out.commit(stage="clean", key="k1", parts=[part], inputs=[], config_hash="c", code_version="v", started=0.0, counters={"rows": 5})
    assert manifest.rows == 5
    assert out.read_table()["id"].to_pylist() == ["0", "1", "2", "3", "4"]
    assert json.loads((tmp_path / "clean" / MANIFEST_NAME).read_text())["cache_key"] == "k1"
    assert not (tmp_path / "clean" / "_work").exists()


def test_finished_part_is_found_by_a_retry_of_the_same_run(tmp_path):
    out = DatasetHandle(str(tmp_path / "raw"))
    assert out.finished_part("k", "part-00001.parquet") is None
    out.write_part("k", "part-00001.parquet", _batches(3), counters={"rows": 3})
    again = out.finished_part("k", "part-00001.parquet")
    assert again is not None and again.rows == 3 and again.counters == {"rows": 3}
    assert out.finished_part("other-key", "part-00001.parquet") is None


def test_empty_part_needs_a_schema(tmp_path):
    out = DatasetHandle(str(tmp_path / "x"))
    with pytest.raises(ValueError, match="no batches"):
        out.write_part("k", "p.parquet", iter(()))
    schema = pa.schema([("id", pa.string())])
    assert out.write_part("k", "p.parquet", iter(()), schema=schema).rows == 0


def test_recommit_replaces_old_parts(tmp_path):
    out = DatasetHandle(str(tmp_path / "d"))
    first = [out.write_part("a", f"part-{i}.parquet", _batches(2)) for i in range(3)]
    out.commit(stage="d", key="a", parts=first, inputs=[], config_hash="c", code_version="v", started=0.0)
    second = [out.write_part("b", "part-0.parquet", _batches(1))]
    manifest = out.commit(stage="d", key="b", parts=second, inputs=[], config_hash="c", code_version="v", started=0.0)
    assert manifest.rows == 1
    assert sorted(p.name for p in (tmp_path / "d").glob("*.parquet")) == ["part-0.parquet"]


def test_cache_key_changes_with_inputs_config_and_code():
    ref = InputRef(uri="u", content_hash="h1")
    base = cache_key("s", [ref], "c", "v")
    assert base == cache_key("s", [ref], "c", "v")
    assert base != cache_key("s", [InputRef(uri="u", content_hash="h2")], "c", "v")
    assert base != cache_key("s", [ref], "c2", "v")
    assert base != cache_key("s", [ref], "c", "v2")


def test_stage_run_is_reusable_only_after_commit_with_same_key(tmp_path):
    run = start_stage("raw", str(tmp_path / "raw"), [], config_hash({"a": 1}), ("ingest",))
    assert run.reusable() is None
    part = run.out.write_part(run.key, "part-0.parquet", _batches(2))
    run.commit([part])
    assert run.reusable() is not None
    changed = start_stage("raw", str(tmp_path / "raw"), [], config_hash({"a": 2}), ("ingest",))
    assert changed.reusable() is None


def test_merge_counters_sums_nested_numbers():
    from tasks.common.dataset import PartResult

    parts = [
        PartResult(name="a", rows=1, counters={"rows": 1, "dropped": {"empty": 1}}),
        PartResult(name="b", rows=2, counters={"rows": 2, "dropped": {"empty": 2, "too_short": 1}}),
    ]
    assert merge_counters(parts) == {"rows": 3, "dropped": {"empty": 3, "too_short": 1}}
