"""Degenerate input through the real CLI (`corpusmill run` in a subprocess): each ends with one line
`corpusmill: error: ...` naming the source and the step (or how many rows are needed), exit code 2,
no traceback; unexpected labels are quarantined and rows in = kept + quarantined still holds."""

from __future__ import annotations

import pytest

from tasks.common.dataset import DatasetHandle
from tests.faults.run_cli import corpusmill, last_line, output, write_config, write_reviews

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _fails_with_one_line(result, *fragments: str) -> str:
    text = output(result)
    assert result.returncode == 2, text[-3000:]
    line = last_line(result)
    assert line.startswith("corpusmill: error: "), text[-3000:]
    for fragment in fragments:
        assert fragment in line, line
    assert "Traceback" not in text, text[-3000:]
    return line


def test_an_empty_source_names_the_source(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    config = write_config(tmp_path, f'{{uri: "{tmp_path}/empty.jsonl", format: jsonl, label_column: label}}')
    _fails_with_one_line(corpusmill("run", "--config", str(config)), "source", "empty.jsonl", "has no rows")


def test_every_row_filtered_names_the_clean_step(tmp_path):
    write_reviews(tmp_path / "r.jsonl", rows=40)
    config = write_config(
        tmp_path, f'{{uri: "{tmp_path}/r.jsonl", format: jsonl, label_column: label}}', clean="[normalize, {length: {min_words: 50}}, exact_dedup]"
    )
    line = _fails_with_one_line(corpusmill("run", "--config", str(config)), "r.jsonl", "clean step `length` removed every")
    assert "40 row(s)" in line and "quarantine" in line


def test_all_duplicates_say_how_many_rows_a_split_needs(tmp_path):
    (tmp_path / "dup.jsonl").write_text('{"text": "the very same review text", "label": "positive"}\n' * 30)
    config = write_config(tmp_path, f'{{uri: "{tmp_path}/dup.jsonl", format: jsonl, label_column: label}}')
    result = corpusmill("run", "--config", str(config))
    _fails_with_one_line(result, "1 clean row(s) split into train=1", "need at least 1 train and 1 test row", "at least 6")
    assert "need at least one array" not in output(result)


def test_a_binary_file_read_as_txt_is_refused(tmp_path):
    (tmp_path / "model.bin.txt").write_bytes(bytes(range(256)) * 64)
    config = write_config(tmp_path, f'{{uri: "{tmp_path}/model.bin.txt", format: txt}}')
    _fails_with_one_line(corpusmill("run", "--config", str(config)), "model.bin.txt: looks like a binary file (NUL bytes")


def test_a_missing_source_fails_validate_and_run_with_one_line(tmp_path):
    config = write_config(tmp_path, f'{{uri: "{tmp_path}/nowhere/*.jsonl", format: jsonl}}')
    for args in (("validate",), ("run",)):
        result = corpusmill(*args, "--config", str(config))
        _fails_with_one_line(result, "pipelines.tiny.source", "nowhere")
        assert result.stderr.count("corpusmill: error:") == 1


def test_validate_deep_finds_a_missing_column(tmp_path):
    write_reviews(tmp_path / "r.jsonl", rows=10)
    config = write_config(tmp_path, f'{{uri: "{tmp_path}/r.jsonl", format: jsonl, label_column: sentiment}}')
    _fails_with_one_line(corpusmill("validate", "--deep", "--config", str(config)), "missing column(s) ['sentiment']")


def test_unexpected_labels_are_quarantined_after_normalisation(tmp_path):
    write_reviews(tmp_path / "r.jsonl", rows=40, labels=("positive", "Positive ", "NEGATIVE", "neutral"))
    config = write_config(
        tmp_path, f'{{uri: "{tmp_path}/r.jsonl", format: jsonl, label_column: label, label_normalize: strip_lower, label_values: [negative, positive]}}'
    )
    result = corpusmill("run", "--stages", "ingest,clean", "--config", str(config))
    assert result.returncode == 0, output(result)[-3000:]
    data = tmp_path / "ws" / "data" / "tiny"
    raw, clean, quarantine = (DatasetHandle(str(data / s)).read_table() for s in ("raw", "clean", "quarantine"))
    assert raw.num_rows == clean.num_rows + quarantine.num_rows == 40
    assert sorted(set(clean["label"].to_pylist())) == ["negative", "positive"]
    reasons = [r for r, s in zip(quarantine["reason"].to_pylist(), quarantine["step"].to_pylist()) if s == "input"]
    assert reasons == ["unexpected_label"] * 10
