"""Measurement (not a test): the seeded search (`tasks.train.search`) on SST-2, chosen on validation.

The base is the shipped `sst2` recipe (MiniLM tokenizer + embeddings, BiLSTM 128, transfer (b)).
train.tsv is split 90/10 train/validation by id hash (seed 13, as `bench.transfer`); the search
never sees dev.tsv (`search` drops the `test` split before the first trial). Afterwards the best
trial's model is scored on dev.tsv, the only time dev is read (`--with-recipe` also retrains the
untuned recipe for a same-run comparison). Trials are nested MLflow runs in experiment
`sst2-search` of `--tracking-uri`. Epochs are searched in 3..8 to fit a shared 2-core CPU.

    python -m bench.tune --trials 4 --seed 0 --tracking-uri sqlite:////tmp/tune/mlflow.db
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mlflow
import torch

from bench.transfer import BASE_TRAIN, tokens_for
from bench.ulmfit import run_classifier
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.search import CLASSIFIER_SPACE, ParamSpec, SearchConfig, search
from tasks.train.trainer import evaluate_examples

RECIPE = {"embedding_dim": 384, "embedding_init": "pretrained", "hidden_size": 128, "bidirectional": True, "dropout": 0.5, "pooling": "max", "max_length": 64}
SPACE = CLASSIFIER_SPACE | {"train.epochs": ParamSpec(type="int", low=3, high=8)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0, help="TPE sampler seed")
    parser.add_argument("--tracking-uri", default=None, help="MLflow store (default: a temporary SQLite file)")
    parser.add_argument("--with-recipe", action="store_true", help="also retrain the untuned recipe and score it on dev")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    tokens, tokenizer = tokens_for("pretrained")
    base = ClassifierConfig(**RECIPE, train=BASE_TRAIN)
    kind = ClassifierKind()
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(args.tracking_uri or f"sqlite:///{tmp}/mlflow.db")
        mlflow.set_experiment("sst2-search")
        with mlflow.start_run(run_name="sst2-sentiment-search"):
            prepared = kind.prepare(tokens, tokenizer, base)
            config = SearchConfig(trials=args.trials, seed=args.seed, startup_trials=max(1, min(args.trials // 2, 4)), space=SPACE)
            result = search(kind, base, prepared, tokenizer.get_vocab_size(), Path(tmp) / "trials", config)
        for trial in result.trials:
            print(f"trial {trial.number}: val {trial.value:.4f}  {trial.params}", flush=True)
        print(f"search: {args.trials} trials in {time.perf_counter() - t0:.0f} s; best val {result.best_value:.4f} {result.best_params}", flush=True)
        dev = evaluate_examples(kind, result.best_model, prepared.splits["test"], base.train, torch.device("cpu"))
        print(f"\nSST-2 dev.tsv (read only here), seed {BASE_TRAIN['seed']}, sampler seed {args.seed}")
        print(f"tuned   val {result.best_value:.4f}  dev {dev['accuracy']:.4f}  {result.best_params}")
        if args.with_recipe:
            r = run_classifier(tokens, tokenizer, base, Path(tmp) / "recipe")
            print(f"recipe  val {r['val_accuracy']:.4f}  dev {r['dev_accuracy']:.4f}  best epoch {r['best_epoch']:.0f}  {r['seconds']:.0f} s")
    print(f"total wall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
