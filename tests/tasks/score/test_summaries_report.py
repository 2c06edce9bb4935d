"""The summaries scoring report: per window rows, documents, empty summaries and output path,
read back from the written partitions; re-running a window adds nothing."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from tasks.score.incremental import output_path, pending_partitions, score_partition, write_input_partition
from tasks.score.summaries import summarise_run
from tasks.train.models.extractive import join_sentences
from tasks.train.models.sentences import split_sentences


def lead1(frame: pd.DataFrame) -> pd.DataFrame:
    """A real extractive summarizer: the first sentence."""
    docs = [split_sentences(t or "") for t in frame["text"]]
    return pd.DataFrame({"summary": [join_sentences(d[:1]) for d in docs], "selected": [[0] if d else [] for d in docs]})


def test_report_per_window(tmp_path):
    inbox, scores = str(tmp_path / "inbox"), str(tmp_path / "scores")
    write_input_partition(inbox, "2026-11-29.parquet", pa.table({"id": ["a", "b", "b"], "text": ["One. Two.", "", "Three."]}))
    write_input_partition(inbox, "2026-11-30.parquet", pa.table({"id": ["c"], "text": ["今天下雨了。我们在家。"]}))
    written = [score_partition(lead1, inbox, p, scores, "news-summarizer", "2", 2) for p in pending_partitions(inbox, scores, "2")]
    result = {"model": "news-summarizer", "version": "2", "output": scores, "new_partitions": [w.input for w in written], "total_rows": 4}
    run = summarise_run("news", result)
    assert [(w.window, w.rows, w.documents, w.empty_summaries) for w in run.windows] == [("2026-11-29.parquet", 3, 2, 1), ("2026-11-30.parquet", 1, 1, 0)]
    assert run.rows == 4 and run.documents == 3 and run.model_version == "2"
    assert run.windows[0].output == output_path(scores, "2", "2026-11-29.parquet")
    assert run.table()[0]["model_version"] == "2" and run.table()[1]["mean_sentences"] == 1.0
    assert pending_partitions(inbox, scores, "2") == []  # idempotent: the same windows are not scored again
    empty = summarise_run("news", result | {"new_partitions": []})
    assert empty.table() == [
        {"window": "(none new)", "rows": 0, "documents": 0, "model": "news-summarizer", "model_version": "2", "output": scores, "total_rows": 4}
    ]
