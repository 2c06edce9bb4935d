"""Train one model of a pipeline with DistributedDataParallel, one process per device:

    torchrun --nproc_per_node=N -m corpusmill.train_ddp demo-reviews sentiment [--config pipelines.yaml] [--workspace DIR]

Every rank reads the finished tokens dataset and trains on its share of each global batch
(`train.batch_size` stays the global batch); rank 0 also does what `corpusmill run --stages train`
does for that model (MLflow run, bundle, `train_record.json`), so evaluate/register/score continue
from it as usual. On GPUs the backend is NCCL (one GPU per local rank), on CPU gloo.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from corpusmill.config import load_config
from corpusmill.workspace import Workspace, apply_environment


def train_replica(job) -> None:
    """A rank other than 0: the same preparation and the same `Trainer` as `train_one` (which
    rank 0 runs), joined to the process group; it writes no files."""
    from tokenizers import Tokenizer

    from tasks.common import storage
    from tasks.common.dataset import DatasetHandle
    from tasks.train.distributed import DistContext
    from tasks.train.kinds import get_kind
    from tasks.train.prefect_tasks import _tokens_hash_and_tokenizer, train_cache_key
    from tasks.train.trainer import Trainer

    tokens = DatasetHandle(job.tokens_uri)
    tokens_hash, tokenizer_uri = _tokens_hash_and_tokenizer(tokens)
    tokenizer = Tokenizer.from_str(storage.read_text(tokenizer_uri))
    kind = get_kind(job.model.kind)
    prepared = kind.training_examples(kind.prepare(tokens.read_table(), tokenizer, job.model), job.model, Path(job.model_dir) / "teacher")
    checkpoints = Path(job.model_dir) / "checkpoints" / train_cache_key(job, tokens_hash)
    Trainer(kind, job.model, prepared, tokenizer.get_vocab_size(), checkpoints, dist=DistContext.from_env()).run(resume=job.resume)


def main(argv: list[str] | None = None) -> int:
    """Command line (run it under torchrun); returns 0 on every rank when training finished."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline")
    parser.add_argument("model")
    parser.add_argument("--config", default="pipelines.yaml")
    parser.add_argument("--workspace", default=None)
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    ws = Workspace.at(args.workspace or os.environ.get("CORPUSMILL_HOME") or config.workspace, config.data_uri)
    apply_environment(ws.environment(config.mlflow_tracking_uri))

    from tasks.train.distributed import DistContext
    from tasks.train.prefect_tasks import RECORD_NAME, TrainJob, TrainRecord, train_cache_key, train_one

    pipeline = config.pipeline(args.pipeline)
    job = TrainJob(
        pipeline=args.pipeline,
        model_name=args.model,
        registered_name=pipeline.registered_name(args.model),
        model=pipeline.models[args.model],
        tokens_uri=ws.stage_uri(args.pipeline, "tokens"),
        model_dir=str(ws.model_dir(args.pipeline, args.model)),
        experiment=args.pipeline,
        artifact_root=str(ws.mlflow_artifact_root),
        resume=args.resume,
    )
    dist = DistContext.from_env()
    dist.init()
    record = Path(job.model_dir) / RECORD_NAME
    from tasks.common.dataset import DatasetHandle
    from tasks.train.bundle import bundle_problems

    key = train_cache_key(job, DatasetHandle(job.tokens_uri).require_manifest().content_hash)
    found = TrainRecord.model_validate_json(record.read_text()) if record.exists() else None
    if found is not None and found.cache_key == key and bundle_problems(Path(found.bundle_dir)) == []:  # as train_one
        print(f"rank {dist.rank}: {job.registered_name} already trained with key {key}; nothing to do")
        return 0
    if dist.is_main:
        done = train_one(job)
        print(f"{job.registered_name}: best {done.best_metrics} after {done.steps} steps on {dist.world_size} rank(s)")
    else:
        train_replica(job)
    dist.barrier()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
