"""What a summaries scoring run reports: rows and documents written per window (input
partition), the model version and where the output went; published as a Prefect table artifact
`<pipeline>-summaries-scoring` (one per run, also when nothing was new)."""

from __future__ import annotations

from typing import Any

import fsspec
import pyarrow.parquet as pq
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE
from pydantic import BaseModel

from tasks.score.incremental import output_path


class SummaryWindow(BaseModel):
    """One scored window (input partition): rows, distinct documents, empty summaries, output path."""

    window: str
    rows: int
    documents: int
    empty_summaries: int
    mean_sentences: float
    output: str


class SummariesRun(BaseModel):
    """One scoring run of the summaries application."""

    pipeline: str
    model: str
    model_version: str
    output: str
    windows: list[SummaryWindow]
    rows: int
    documents: int
    total_rows: int

    def table(self) -> list[dict[str, Any]]:
        """Artifact rows: one per window scored in this run (a single `(none new)` row otherwise)."""
        if not self.windows:
            return [
                {
                    "window": "(none new)",
                    "rows": 0,
                    "documents": 0,
                    "model": self.model,
                    "model_version": self.model_version,
                    "output": self.output,
                    "total_rows": self.total_rows,
                }
            ]
        return [
            {
                "window": w.window,
                "rows": w.rows,
                "documents": w.documents,
                "empty_summaries": w.empty_summaries,
                "mean_sentences": round(w.mean_sentences, 2),
                "model": self.model,
                "model_version": self.model_version,
                "output": w.output,
                "total_rows": self.total_rows,
            }
            for w in self.windows
        ]


def describe_window(output_uri: str, model_version: str, window: str) -> SummaryWindow:
    """Read back one written output partition -> its rows, distinct ids, empty summaries, mean
    number of selected sentences."""
    path = output_path(output_uri, model_version, window)
    fs, local = fsspec.core.url_to_fs(path)
    with fs.open(local, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        table = parquet.read(columns=[c for c in ("id", "summary", "selected") if c in parquet.schema_arrow.names])
    ids = table["id"].to_pylist() if "id" in table.column_names else list(range(table.num_rows))
    summaries = table["summary"].to_pylist() if "summary" in table.column_names else []
    selected = table["selected"].to_pylist() if "selected" in table.column_names else []
    return SummaryWindow(
        window=window,
        rows=table.num_rows,
        documents=len(set(ids)),
        empty_summaries=sum(1 for s in summaries if not s),
        mean_sentences=sum(len(s or []) for s in selected) / max(len(selected), 1),
        output=path,
    )


def summarise_run(pipeline: str, result: dict[str, Any]) -> SummariesRun:
    """The dict `flows.scoring.score_application` returns -> the run's report."""
    windows = [describe_window(result["output"], result["version"], name) for name in result["new_partitions"]]
    return SummariesRun(
        pipeline=pipeline,
        model=result["model"],
        model_version=str(result["version"]),
        output=result["output"],
        windows=windows,
        rows=sum(w.rows for w in windows),
        documents=sum(w.documents for w in windows),
        total_rows=int(result["total_rows"]),
    )


@task(name="summaries-scoring-artifact", cache_policy=NONE)
def summaries_artifact_task(pipeline: str, result: dict[str, Any], key: str) -> dict[str, Any]:
    """Publish the run's table artifact under `key`; returns the report as a dict."""
    run = summarise_run(pipeline, result)
    create_table_artifact(
        key=key,
        table=run.table(),
        description=f"{run.model} v{run.model_version}: {run.rows} rows, {run.documents} documents in {len(run.windows)} new window(s) -> {run.output}",
    )
    return run.model_dump(mode="json")
