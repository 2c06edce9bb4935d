"""Orchestration cost of one shard task: the same corpus ingested and cleaned as many tiny shards
and as a few large ones; the extra wall time per extra task is Prefect's (+ Dask's) bookkeeping.

    . workspace/stack/env && python -m bench.stack_overhead --runner dask     # on the stack, data on S3
    python -m bench.stack_overhead --runner threads --data-uri /tmp/bench-data # embedded default

The corpus is `--rows` synthetic reviews as one JSON-lines file under `<data-uri>/bench-input/`;
`shard_bytes` cuts it into byte ranges, one ingest task and one clean task per shard.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

CONFIG = """
workspace: {ws}
data_uri: {data_uri}
runner: {{task_runner: {runner}, max_workers: 2}}
pipelines:
  {name}:
    source: {{uri: "{source}", format: jsonl, label_column: label}}
    ingest: {{shard_bytes: {shard_bytes}}}
    clean: [normalize, {{length: {{min_words: 3}}}}]
    models:
      m: {{kind: lstm_classifier}}
"""


def write_corpus(data_uri: str, rows: int) -> tuple[str, int]:
    """The synthetic reviews as one JSON-lines file under `data_uri`; returns its URI and size."""
    from tasks.common import storage
    from tasks.ingest.demo import demo_reviews

    table = demo_reviews(rows, seed=1)
    text = "".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) + "\n" for t, y in zip(table["text"].to_pylist(), table["label"].to_pylist()))
    uri = storage.join(data_uri, "bench-input", f"reviews-{rows}.jsonl")
    storage.write_text(uri, text)
    return uri, len(text.encode())


def run_once(name: str, source: str, shard_bytes: int, args: argparse.Namespace, root: Path) -> dict:
    """Ingest + clean one configuration; wall seconds per stage and the number of shard tasks."""
    from corpusmill.config import load_config
    from flows.clean import clean_flow
    from flows.ingest import ingest_flow
    from flows.runtime import make_task_runner

    config = root / f"{name}.yaml"
    config.write_text(CONFIG.format(ws=root / "ws", data_uri=args.data_uri, runner=args.runner, name=name, source=source, shard_bytes=shard_bytes))
    runner = make_task_runner(load_config(config).runner)
    out = {"name": name, "shard_bytes": shard_bytes}
    for stage, stage_flow in (("ingest", ingest_flow), ("clean", clean_flow)):
        started = time.perf_counter()
        result = stage_flow.with_options(task_runner=runner)(pipeline=name, config_path=str(config), workspace=str(root / "ws"))
        out[f"{stage}_s"] = round(time.perf_counter() - started, 2)
        out[f"{stage}_reused"] = result.get("reused", False)
    from tasks.common.dataset import DatasetHandle

    out["tasks_per_stage"] = len(DatasetHandle(f"{args.data_uri}/{name}/raw").require_manifest().parts)
    return out


def main() -> None:
    """Print one JSON line per configuration and the marginal seconds per shard task."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", choices=("threads", "dask"), default="dask")
    parser.add_argument("--data-uri", default="s3://corpusmill/data")
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--shards", default="1,8,64", help="shard counts to try (the file is cut to about these)")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_TRACKING_URI", "sqlite:///" + tempfile.gettempdir() + "/bench-overhead-mlflow.db")
    source, size = write_corpus(args.data_uri, args.rows)
    tag = f"{args.runner}-{int(time.time())}"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(c) for c in args.shards.split(",")):
            result = run_once(f"bench-{tag}-{count}", source, max(1024, size // count + 1), args, Path(tmp))
            results.append(result)
            print(json.dumps(result), flush=True)
    few, many = results[0], results[-1]
    extra = many["tasks_per_stage"] - few["tasks_per_stage"]
    for stage in ("ingest", "clean"):
        per_task = (many[f"{stage}_s"] - few[f"{stage}_s"]) / max(1, extra)
        print(
            f"{args.runner} {stage}: {few['tasks_per_stage']} -> {many['tasks_per_stage']} shards, "
            f"{few[f'{stage}_s']} -> {many[f'{stage}_s']} s: {per_task:.3f} s per extra shard task"
        )


if __name__ == "__main__":
    main()
