"""Measurement (not a test): does ULMFiT-style LM pretraining help the LSTM classifier on SST-2?

Arms, all with the same BPE tokenizer, embedding/hidden sizes, one direction and classifier
epochs budget, trained by the project's own `train_model` and kinds:
  scratch    `lstm_classifier` from random weights
  lm+ft      `lstm_lm` on the training text (+ dev text without labels with `--lm-dev-text`, + the
             unlabelled text of a CSV column with `--lm-extra-csv`, e.g. imdb_5k's reviews),
             then `lstm_classifier` with `pretrained_lm`, discriminative learning rates
             (`lr_decay_per_layer`) and gradual unfreezing (`unfreeze_schedule`)
  lm+discr   the same LM start with discriminative learning rates only (`--arms` picks the arms)
train.tsv is split by id hash into train/validation (validation picks the best epoch); dev.tsv is
the reported test set. Prints dev accuracy / macro-F1 and wall time of each arm.

    .venv/bin/python -m bench.ulmfit --data ../shared/data/sst2
    .venv/bin/python -m bench.ulmfit --lm-extra-csv ../shared/data/imdb_5k/movie_review.csv \
        --vocab-size 12000 --embedding-dim 256 --hidden 256 --epochs 6 --lm-epochs 1   # README figures
    # option (a) of issue 14: the LM reads all unlabelled English text of ../shared/data (bench.lm_corpus)
    .venv/bin/python -m bench.ulmfit --lm-shared ../shared/data --vocab-size 8000 --embedding-dim 256 \
        --hidden 512 --epochs 6 --lm-epochs 1 --lm-max-steps 1200 --lm-bundle-out workspace/lm_shared
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import torch

from bench.lm_corpus import SOURCES as SHARED_SOURCES
from bench.lm_corpus import unlabelled_english
from tasks.tokenize import SplitConfig, TokenizeConfig, attach_splits, encode_table, split_table, train_tokenizer
from tasks.train.bundle import save_bundle
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind
from tasks.train.trainer import evaluate_examples, train_model

CLASSIFIER = ClassifierKind()
LM = LanguageModelKind()


def read_sst2(path: Path, prefix: str) -> pa.Table:
    """SST-2 TSV (`label`, `sentence`; no quoting) -> rows `id`, `text`, `label` (string)."""
    raw = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types={"label": pa.string(), "sentence": pa.string()}),
    )
    ids = pa.array([f"{prefix}-{i}" for i in range(raw.num_rows)])
    return pa.table({"id": ids, "text": raw["sentence"], "label": raw["label"]})


def read_unlabelled(path: Path, column: str) -> pa.Table:
    """A CSV of extra LM text (e.g. imdb_5k's `review`) -> rows `id`, `text`, `label` (null),
    HTML line breaks replaced by spaces; labels in the file are NOT used."""
    raw = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()}))
    text = pc.replace_substring_regex(raw[column], r"<br\s*/?>", " ")
    return pa.table({"id": pa.array([f"extra-{i}" for i in range(raw.num_rows)]), "text": text, "label": pa.nulls(raw.num_rows, pa.string())})


def tokens_tables(data: Path, vocab_size: int, seed: int, extra: pa.Table | None = None, kind: str = "bpe") -> tuple[pa.Table, object]:
    """train.tsv (split train/validation by id hash) + dev.tsv (split `test`) [+ unlabelled extra
    text, split `train`, label null] -> one tokens table and the tokenizer trained on the
    train.tsv (+ extra) text. Classifiers leave the unlabelled rows out; the LM reads them."""
    train, dev = read_sst2(data / "train.tsv", "train"), read_sst2(data / "dev.tsv", "dev")
    tokenize = TokenizeConfig(kind=kind, vocab_size=vocab_size, max_length=128 if extra is None else 2048)
    texts = [train["text"].to_pylist()] + ([extra["text"].to_pylist()] if extra is not None else [])
    tokenizer = train_tokenizer(texts, tokenize)
    train = attach_splits(train, split_table(train.select(["id", "label"]), SplitConfig(validation=0.1, test=0.0, seed=seed)))
    dev = dev.append_column("split", pa.array(["test"] * dev.num_rows))
    parts = [train, dev] + ([extra.append_column("split", pa.array(["train"] * extra.num_rows))] if extra is not None else [])
    return encode_table(pa.concat_tables(parts), tokenizer, tokenize), tokenizer


def run_arm(label: str, tokens: pa.Table, tokenizer, base: dict, base_train: dict, overrides: dict) -> dict[str, float]:
    """One configuration of a sweep: `ClassifierConfig(base | overrides)` with `base_train | overrides["train"]`
    trained in a temporary folder (`run_classifier`); prints `label`, validation and dev accuracy, best
    epoch and seconds on one line; returns the metrics."""
    train = base_train | overrides.pop("train", {})
    cfg = ClassifierConfig(**(base | overrides), train=train)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_classifier(tokens, tokenizer, cfg, Path(tmp))
    print(
        f"{label:90} val {result['val_accuracy']:.4f}  dev {result['dev_accuracy']:.4f}  best epoch {result['best_epoch']:.0f}  {result['seconds']:.0f} s",
        flush=True,
    )
    return result


def run_classifier(tokens: pa.Table, tokenizer, cfg: ClassifierConfig, out: Path) -> dict[str, float]:
    """Train one classifier arm -> dev (`test` split) metrics, best epoch, seconds."""
    start = time.perf_counter()
    prepared = CLASSIFIER.prepare(tokens, tokenizer, cfg)
    result = train_model(CLASSIFIER, cfg, prepared, tokenizer.get_vocab_size(), out)
    dev = evaluate_examples(CLASSIFIER, result.model, prepared.splits["test"], cfg.train, torch.device(result.device))
    return {
        "dev_accuracy": dev["accuracy"],
        "dev_macro_f1": dev["macro_f1"],
        "val_accuracy": result.best_metrics["accuracy"],
        "best_epoch": float(result.best_epoch or 0),
        "seconds": time.perf_counter() - start,
    }


def pretrain_lm(tokens: pa.Table, tokenizer, args: argparse.Namespace, work: Path) -> tuple[Path, float]:
    """Train the `lstm_lm` on every `train` row (labelled or not) -> (bundle folder, seconds).

    With `--lm-minutes`, 8 calibration steps measure tokens/s and the training windows are cut to
    a seeded random subset that one epoch covers in that budget (so the LR schedule still ends)."""
    start = time.perf_counter()
    lm_cfg = LanguageModelConfig(
        embedding_dim=args.embedding_dim,
        hidden_size=args.hidden,
        num_layers=args.layers,
        seq_len=64,
        train={
            "epochs": args.lm_epochs,
            "batch_size": 32,
            "lr": 3e-3,
            "progress": False,
            "seed": args.seed,
            "device": args.device,
            "early_stopping_patience": None,
            "max_steps": args.lm_max_steps,
        },
    )
    lm_tokens = tokens
    if args.lm_dev_text:
        lm_tokens = tokens.set_column(tokens.schema.get_field_index("split"), "split", pc.if_else(pc.equal(tokens["split"], "test"), "train", tokens["split"]))
    prepared = LM.prepare(lm_tokens, tokenizer, lm_cfg)
    windows = len(prepared.splits["train"])
    if args.lm_minutes is not None:
        probe_cfg = lm_cfg.model_copy(update={"train": lm_cfg.train.model_copy(update={"max_steps": 8})})
        probe = train_model(LM, probe_cfg, prepared, tokenizer.get_vocab_size(), work / "lm_probe")
        budget = args.lm_minutes * 60 - (time.perf_counter() - start) - 30  # ~30 s for validation
        keep = min(windows, int(budget * probe.tokens_per_s / 64 / args.lm_epochs))
        order = torch.randperm(windows, generator=torch.Generator().manual_seed(args.seed))[:keep].tolist()
        prepared.splits["train"] = [prepared.splits["train"][i] for i in sorted(order)]
        print(f"lm: {probe.tokens_per_s:.0f} tokens/s -> {keep} of {windows} windows per epoch fit {args.lm_minutes} min", flush=True)
    result = train_model(LM, lm_cfg, prepared, tokenizer.get_vocab_size(), work / "lm")
    bundle = save_bundle(args.lm_bundle_out or work / "lm_bundle", LM.name, lm_cfg, result.model.cpu(), {}, tokenizer)
    seconds = time.perf_counter() - start
    seen = result.steps * 32 * 64
    print(
        f"lm done: val perplexity {result.best_metrics.get('perplexity', float('nan')):.1f} in {seconds:.0f}s, "
        f"{result.steps} steps (~{seen / 1e6:.2f}M tokens seen, {len(prepared.splits['train']) * 64 / 1e6:.2f}M per epoch)",
        flush=True,
    )
    return bundle, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sst2"))
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4, help="classifier epochs (every arm)")
    parser.add_argument("--lm-epochs", type=int, default=4)
    parser.add_argument("--lm-dev-text", action="store_true", help="also pretrain the LM on dev.tsv text (labels unused)")
    parser.add_argument("--lr-decay", type=float, default=1 / 2.6, help="lr_decay_per_layer of the fine-tuned arms")
    parser.add_argument("--arms", default="lm+ft,lm+discr", help="pretrained arms to run (comma-separated): lm+ft, lm+discr")
    parser.add_argument("--lm-extra-csv", type=Path, default=None, help="unlabelled CSV text the LM also reads, e.g. ../shared/data/imdb_5k/movie_review.csv")
    parser.add_argument("--lm-extra-column", default="review")
    parser.add_argument(
        "--lm-shared",
        type=Path,
        default=None,
        help="the LM also reads all unlabelled English text of this ../shared/data folder (bench.lm_corpus; never SST-2 dev)",
    )
    parser.add_argument("--lm-bundle-out", type=Path, default=None, help="keep the pretrained LM bundle (+ tokenizer) here")
    parser.add_argument("--lm-bundle", type=Path, default=None, help="reuse this LM bundle (same text + --vocab-size) instead of pretraining")
    parser.add_argument("--lm-minutes", type=float, default=None, help="wall-clock budget of LM pretraining (windows subsampled to fit)")
    parser.add_argument("--tokenizer", default="bpe", choices=["bpe", "wordpiece", "unigram"])
    parser.add_argument("--lr", type=float, default=None, help="classifier lr (default: TrainConfig's)")
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--lm-max-steps", type=int, default=None)
    parser.add_argument("--skip-scratch", action="store_true")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    args = parser.parse_args()

    t0 = time.perf_counter()
    extra = read_unlabelled(args.lm_extra_csv, args.lm_extra_column) if args.lm_extra_csv else None
    if args.lm_shared is not None:
        shared, report = unlabelled_english(args.lm_shared, [s for s in SHARED_SOURCES if s != "sst2_train"])
        print(f"unlabelled LM text: {report}", flush=True)
        extra = shared if extra is None else pa.concat_tables([extra, shared])
    tokens, tokenizer = tokens_tables(args.data, args.vocab_size, args.seed, extra, args.tokenizer)
    counts = {s: int(pc.sum(pc.equal(tokens["split"], s)).as_py()) for s in ("train", "validation", "test")}
    print(
        f"sst2: {counts} rows, {int(pc.sum(tokens['length']).as_py())} tokens, vocab {tokenizer.get_vocab_size()}, prep {time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    train_cfg = {"epochs": args.epochs, "batch_size": 64, "progress": False, "seed": args.seed, "device": args.device}
    if args.lr is not None:
        train_cfg["lr"] = args.lr
    shape = {
        "embedding_dim": args.embedding_dim,
        "hidden_size": args.hidden,
        "num_layers": args.layers,
        "bidirectional": False,
        "dropout": args.dropout,
        "max_length": 128,
    }
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.lm_bundle is not None:
            lm_bundle, lm_seconds = args.lm_bundle, 0.0
            print(f"lm: reusing {lm_bundle} (its tokenizer must equal this run's: same text, same --vocab-size)", flush=True)
        else:
            lm_bundle, lm_seconds = pretrain_lm(tokens, tokenizer, args, work)

        groups_below_head = args.layers + 1  # LSTM layers, then the embedding
        unfreeze = list(range(1, groups_below_head + 1))
        arms = {"lm+ft": {"lr_decay_per_layer": args.lr_decay, "unfreeze_schedule": unfreeze}, "lm+discr": {"lr_decay_per_layer": args.lr_decay}}
        for name in args.arms.split(","):
            ulmfit = arms[name]
            cfg = ClassifierConfig(**shape, pretrained_lm=str(lm_bundle), **ulmfit, train=train_cfg)
            rows[name] = run_classifier(tokens, tokenizer, cfg, work / name)
            rows[name]["lm_seconds"] = lm_seconds
            print(f"{name} done: {rows[name]}", flush=True)
        if not args.skip_scratch:
            rows["scratch"] = run_classifier(tokens, tokenizer, ClassifierConfig(**shape, train=train_cfg), work / "scratch")
            print(f"scratch done: {rows['scratch']}", flush=True)

    print(
        f"\nSST-2 dev ({counts['test']} rows); {args.layers}x LSTM emb {args.embedding_dim} hidden {args.hidden}, one direction, "
        f"{args.epochs} classifier epochs, LM {args.lm_epochs} epochs on train text{' + dev text' if args.lm_dev_text else ''}, "
        f"unfreeze {unfreeze}, lr_decay {args.lr_decay:.3f}, seed {args.seed}, {torch.get_num_threads()} threads"
    )
    print(f"{'arm':10} {'dev acc':>8} {'dev F1':>8} {'val acc':>8} {'best ep':>8} {'clf s':>7} {'+LM s':>7}")
    for name, r in rows.items():
        print(
            f"{name:10} {r['dev_accuracy']:8.4f} {r['dev_macro_f1']:8.4f} {r['val_accuracy']:8.4f} {r['best_epoch']:8.0f} "
            f"{r['seconds']:7.0f} {r.get('lm_seconds', 0.0):7.0f}"
        )
    print(f"total wall {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
