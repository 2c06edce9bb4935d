"""Hugging Face `datasets` sources: a `save_to_disk` folder (split into row ranges) or a Hub id (streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fsspec
import pyarrow as pa

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.shards import IngestError, Piece
from tasks.ingest.standard import to_standard


def _is_folder(source: SourceConfig) -> bool:
    try:
        fs, path = fsspec.core.url_to_fs(source.uri, **source.storage_options)
        return fs.isdir(path)
    except Exception:
        return False


def _load_folder(source: SourceConfig) -> tuple[Any, str]:
    """The memory-mapped Dataset of a `save_to_disk` folder and the split it came from ('' when single)."""
    import datasets

    try:
        loaded = datasets.load_from_disk(source.uri, storage_options=source.storage_options or None)
    except Exception as error:
        raise IngestError(f"{source.uri}: not a datasets save_to_disk folder: {type(error).__name__}: {error}") from error
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        split = source.split or (splits[0] if len(splits) == 1 else None)
        if split is None or split not in loaded:
            raise IngestError(f"{source.uri}: choose a split with `split:` among {splits} (got {source.split!r})")
        return loaded[split], split
    if source.split is not None:
        raise IngestError(f"{source.uri}: holds a single Dataset without splits; remove `split: {source.split}`")
    return loaded, ""


def plan_hf(source: SourceConfig, cfg: IngestConfig) -> list[Piece]:
    """Row-range pieces of about `shard_bytes` for a folder; one streamed piece for a Hub id."""
    if not _is_folder(source):
        return [Piece(kind="hf_hub", uri=source.uri, rel=source.split or "train")]
    dataset, split = _load_folder(source)
    rows, nbytes = dataset.num_rows, max(int(dataset.data.nbytes), 1)
    step = max(1, rows * cfg.shard_bytes // nbytes)
    return [
        Piece(
            kind="hf_disk", uri=source.uri, rel=split, start=s, end=min(s + step, rows), row_offset=s, nbytes=nbytes * (min(s + step, rows) - s) // max(rows, 1)
        )
        for s in range(0, rows, step)
    ] or [Piece(kind="hf_disk", uri=source.uri, rel=split, start=0, end=0)]


def read_hf(piece: Piece, source: SourceConfig, cfg: IngestConfig) -> Iterator[pa.RecordBatch]:
    """Standard batches of a folder's row range, or of a Hub dataset streamed batch by batch."""
    if piece.kind == "hf_disk":
        dataset, _ = _load_folder(source)
        arrow = dataset.with_format("arrow")
        end = dataset.num_rows if piece.end is None else piece.end
        for start in range(piece.start, end, cfg.batch_rows):
            table = arrow[start : min(start + cfg.batch_rows, end)]
            yield to_standard(table, source, f"{piece.uri}[{piece.rel or 'dataset'}]", piece.rel, range(start, start + table.num_rows))
        return
    import datasets

    try:
        stream = datasets.load_dataset(piece.uri, split=piece.rel, streaming=True)
        row = 0
        for chunk in stream.iter(batch_size=cfg.batch_rows):
            table = pa.Table.from_pydict(chunk)
            yield to_standard(table, source, f"hf://{piece.uri}", piece.rel, range(row, row + table.num_rows), stringify=True)
            row += table.num_rows
    except IngestError:
        raise
    except Exception as error:
        raise IngestError(
            f"hf://{piece.uri}: cannot stream from the Hugging Face Hub (offline, or no such dataset/split {piece.rel!r}): {type(error).__name__}: {error}"
        ) from error
