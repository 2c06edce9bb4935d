"""Incremental scoring: only partitions without output for the model version are scored, atomically."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.score.incremental import list_partitions, output_path, pending_partitions, score_partition, update_scores_manifest, write_input_partition


def upper(frame: pd.DataFrame) -> pd.DataFrame:
    """A real (if simple) model: the summary of a text is its upper-cased first word."""
    return pd.DataFrame({"summary": [t.split()[0].upper() for t in frame["text"]]})


def test_partitions_are_listed_sorted_without_temp_or_hidden_files(tmp_path):
    inbox = tmp_path / "inbox"
    for name in ("2026-11-02.parquet", "2026-11-01.parquet"):
        write_input_partition(str(inbox), name, pa.table({"id": ["a"], "text": ["x y"]}))
    (inbox / "_manifest.json").write_text("{}")
    (inbox / "2026-11-03.parquet.tmp-1234").write_text("partial")
    assert list_partitions(str(inbox)) == ["2026-11-01.parquet", "2026-11-02.parquet"]
    assert list_partitions(str(tmp_path / "absent")) == []


def test_scoring_writes_one_output_per_partition_and_a_rerun_writes_nothing(tmp_path):
    inbox, scores = str(tmp_path / "inbox"), str(tmp_path / "scores")
    write_input_partition(inbox, "day1.parquet", pa.table({"id": ["1", "2"], "text": ["good day", "bad night"]}))
    assert pending_partitions(inbox, scores, "3") == ["day1.parquet"]
    written = score_partition(upper, inbox, "day1.parquet", scores, "m", "3", batch_rows=1)
    assert written.rows == 2
    table = pq.read_table(output_path(scores, "3", "day1.parquet"))
    assert table["summary"].to_pylist() == ["GOOD", "BAD"]
    assert table["id"].to_pylist() == ["1", "2"]
    assert set(table["model_version"].to_pylist()) == {"3"}
    assert pending_partitions(inbox, scores, "3") == []
    write_input_partition(inbox, "day2.parquet", pa.table({"id": ["3"], "text": ["new text"]}))
    assert pending_partitions(inbox, scores, "3") == ["day2.parquet"]
    assert pending_partitions(inbox, scores, "4") == ["day1.parquet", "day2.parquet"]


def test_manifest_indexes_every_output_partition(tmp_path):
    inbox, scores = str(tmp_path / "inbox"), str(tmp_path / "scores")
    write_input_partition(inbox, "d.parquet", pa.table({"id": ["1"], "text": ["hello world"]}))
    score_partition(upper, inbox, "d.parquet", scores, "m", "1", 10)
    score_partition(upper, inbox, "d.parquet", scores, "m", "2", 10)
    manifest = update_scores_manifest(scores, "m")
    assert manifest.rows == 2
    assert sorted(p.model_version for p in manifest.partitions) == ["1", "2"]
