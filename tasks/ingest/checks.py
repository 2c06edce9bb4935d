"""Source checks before a run: `validate` (every path/glob exists, locally or through fsspec) and
`validate --deep` (each source's first file opens and has the configured columns; only a first
block of rows is read)."""

from __future__ import annotations

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.shards import IngestError, list_files, plan_shards

DEEP_ROWS = 16
DEEP_BLOCK = 64 * 1024


def source_problem(source: SourceConfig, deep: bool = False) -> str | None:
    """None when the source is usable, else one line naming it and the cause. `demo` sources always
    are; `hf` sources are checked only with `deep` (a Hub id cannot be listed offline)."""
    if source.format == "demo" or (source.format == "hf" and not deep):
        return None
    try:
        if source.format != "hf":
            list_files(source)
        if deep:
            _read_first_block(source)
    except IngestError as error:
        return str(error)
    return None


def _read_first_block(source: SourceConfig) -> None:
    """Read the first few rows of the source's first file through the normal reader, which raises
    `IngestError` for a missing column, a binary file, or unparsable content."""
    from tasks.ingest.readers import read_shard

    cfg = IngestConfig(batch_rows=DEEP_ROWS, read_block_bytes=DEEP_BLOCK, shard_bytes=DEEP_BLOCK)
    shards = plan_shards(source, cfg)
    first = shards[0].model_copy(update={"pieces": shards[0].pieces[:1]})
    next(iter(read_shard(first, source, cfg)), None)


def check_sources(pipelines: dict[str, list[SourceConfig]], deep: bool = False) -> list[str]:
    """Problems of every source of the given pipelines (name -> sources), each prefixed by its key path."""
    problems = []
    for name, sources in pipelines.items():
        for k, source in enumerate(sources):
            problem = source_problem(source, deep)
            if problem is not None:
                key = f"pipelines.{name}.sources[{k}]" if len(sources) > 1 else f"pipelines.{name}.source"
                problems.append(f"{key}: {problem}")
    return problems
