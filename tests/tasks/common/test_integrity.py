"""Verified reuse of datasets: sizes, checksums and footer row counts recorded at commit, checked on reuse
and when a later stage reads the dataset; an unreadable manifest is named, never a bare pydantic error."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.common.dataset import MANIFEST_NAME, DatasetHandle
from tasks.common.errors import CorpusmillError, IntegrityError
from tasks.common.stage import start_stage


def _commit(tmp_path, name="clean", parts=2, rows=4):
    out = DatasetHandle(str(tmp_path / name))
    results = []
    for p in range(parts):
        ids = [f"{p}-{i}" for i in range(rows)]
        results.append(out.write_part("k", f"part-{p:05d}.parquet", [pa.record_batch({"id": ids})]))
    manifest = out.commit(stage=name, key="k", parts=results, inputs=[], config_hash="c", code_version="v", started=0.0)
    return out, manifest


def test_commit_records_size_and_sha256_of_each_part(tmp_path):
    out, manifest = _commit(tmp_path)
    for part in manifest.parts:
        path = tmp_path / "clean" / part.name
        assert part.bytes == path.stat().st_size
        assert part.sha256 is not None and len(part.sha256) == 64
    assert DatasetHandle(out.uri).verify() == []


@pytest.mark.parametrize("fault, cause", [("truncate", "size"), ("delete", "missing"), ("fewer_rows", "size"), ("flip", "sha256")])
def test_a_damaged_part_is_named_with_its_cause(tmp_path, fault, cause):
    out, _ = _commit(tmp_path)
    path = tmp_path / "clean" / "part-00001.parquet"
    if fault == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    elif fault == "delete":
        path.unlink()
    elif fault == "fewer_rows":
        pq.write_table(pa.table({"id": ["x"]}), path)
    else:  # same size, different bytes
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    problems = DatasetHandle(out.uri).verify()
    assert len(problems) == 1 and "part-00001.parquet" in problems[0] and cause in problems[0]


def test_a_valid_part_with_other_rows_and_same_size_is_caught_by_the_footer_or_checksum(tmp_path):
    out, _ = _commit(tmp_path, parts=1)
    path = tmp_path / "clean" / "part-00000.parquet"
    size = path.stat().st_size
    pq.write_table(pa.table({"id": ["0-0", "0-1", "0-2", "0-9"]}), path, compression="zstd")
    problems = DatasetHandle(out.uri).verify()
    assert problems and "part-00000.parquet" in problems[0], (size, problems)


def test_stage_run_recomputes_a_damaged_dataset_with_a_warning(tmp_path, caplog):
    out, _ = _commit(tmp_path)
    (tmp_path / "clean" / "part-00000.parquet").write_bytes(b"PAR1 garbage")
    run = start_stage("clean", out.uri, [], "c", ())
    run.key = "k"
    with caplog.at_level(logging.WARNING):
        assert run.reusable() is None
    assert "part-00000.parquet" in caplog.text and "recomputing clean" in caplog.text


def test_a_truncated_manifest_is_named_when_read_and_recomputed_on_reuse(tmp_path, caplog):
    out, _ = _commit(tmp_path)
    manifest_path = tmp_path / "clean" / MANIFEST_NAME
    manifest_path.write_text(manifest_path.read_text()[:40])
    with pytest.raises(IntegrityError, match=r"clean/_manifest.json.*(unreadable|invalid)") as caught:
        DatasetHandle(out.uri).read_manifest()
    assert isinstance(caught.value, CorpusmillError)
    run = start_stage("clean", out.uri, [], "c", ())
    run.key = "k"
    with caplog.at_level(logging.WARNING):
        assert run.reusable() is None
    assert "_manifest.json" in caplog.text


def test_a_later_stage_refuses_a_tampered_input_naming_file_and_cause(tmp_path):
    clean, _ = _commit(tmp_path)
    pq.write_table(pa.table({"id": ["x"]}), tmp_path / "clean" / "part-00001.parquet")
    with pytest.raises(IntegrityError, match=r"clean/part-00001.parquet: size \d+ != \d+ recorded"):
        start_stage("tokens", str(tmp_path / "tokens"), [DatasetHandle(clean.uri)], "c", ())
    with pytest.raises(IntegrityError, match="part-00001.parquet"):
        DatasetHandle(clean.uri).part_uris()


def test_an_old_manifest_without_checksums_is_recomputed_not_crashed_on(tmp_path, caplog):
    out, _ = _commit(tmp_path)
    path = tmp_path / "clean" / MANIFEST_NAME
    data = json.loads(path.read_text())
    for part in data["parts"]:
        part.pop("bytes"), part.pop("sha256")
    path.write_text(json.dumps(data))
    manifest = DatasetHandle(out.uri).read_manifest()
    assert manifest is not None and manifest.parts[0].sha256 is None
    run = start_stage("clean", out.uri, [], "c", ())
    run.key = "k"
    with caplog.at_level(logging.WARNING):
        assert run.reusable() is None
    assert "no checksum" in caplog.text


def test_extra_files_are_recorded_and_checked(tmp_path):
    out = DatasetHandle(str(tmp_path / "tokens"))
    part = out.write_part("k", "part-00000.parquet", [pa.record_batch({"id": ["a"]})])
    out.write_atomic_bytes(out.work_file("k", "tokenizer.json"), b'{"v": 1}')
    out.commit(stage="tokens", key="k", parts=[part], inputs=[], config_hash="c", code_version="v", started=0.0, extra_files=["tokenizer.json"])
    assert DatasetHandle(out.uri).verify() == []
    (tmp_path / "tokens" / "tokenizer.json").write_bytes(b'{"v": 2}')
    problems = DatasetHandle(out.uri).verify()
    assert problems and "tokenizer.json" in problems[0]
