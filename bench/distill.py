"""Measurement (not a test): SST-2 dev accuracy of the LSTM distilled from a fine-tuned MiniLM
teacher, beside the teacher itself, the LSTM without distillation and TF-IDF + LR.

Same data as `bench.transfer`: train.tsv split 90/10 train/validation by id hash (seed 13), dev.tsv
is the `test` split and only reported (the teacher's epoch and the student's epoch are chosen on
validation). Tokens: all-MiniLM-L6-v2's WordPiece (`tokenize: {kind: pretrained}`). Each arm is a
JSON object of `ClassifierConfig` overrides on the shipped `sst2` recipe; its `distill` object is a
`DistillConfig`. The teacher's logits are cached in `workspace/bench-distill/` (keyed by data +
teacher settings + augmentation), so arms that share a teacher fine-tune it once:

    OMP_NUM_THREADS=1 nice -n 10 python -m bench.distill '{}' \
        '{"distill": {"alpha": 0.5, "temperature": 2}}' \
        '{"distill": {"alpha": 1.0, "soft_loss": "mse", "augment_copies": 4}}'
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.transfer import tokens_for
from tasks.evaluate.baselines import tfidf_lr_baseline
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.trainer import evaluate_examples, train_model

KIND = ClassifierKind()
CACHE = Path(__file__).resolve().parents[1] / "workspace" / "bench-distill"
# the `sst2` block of pipelines.yaml (the model), seed as bench.transfer
RECIPE = {"embedding_dim": 384, "embedding_init": "pretrained", "hidden_size": 128, "dropout": 0.5, "pooling": "max", "max_length": 64}
RECIPE_TRAIN = {"epochs": 12, "batch_size": 32, "lr": 2e-3, "early_stopping_patience": 3, "progress": False, "seed": 13}


def run_arm(tokens, tokenizer, cfg: ClassifierConfig, out: Path) -> dict[str, float]:
    """One arm: prepare, (teacher targets), train, evaluate on dev -> figures incl. the teacher's."""
    start = time.perf_counter()
    prepared = KIND.training_examples(KIND.prepare(tokens, tokenizer, cfg), cfg, CACHE)
    teacher_s = time.perf_counter() - start
    result = train_model(KIND, cfg, prepared, tokenizer.get_vocab_size(), out)
    dev = evaluate_examples(KIND, result.model, prepared.splits["test"], cfg.train, torch.device(result.device))
    return {
        "dev_accuracy": dev["accuracy"],
        "val_accuracy": result.best_metrics["accuracy"],
        "best_epoch": float(result.best_epoch or 0),
        "student_seconds": time.perf_counter() - start - teacher_s,
        "prepare_seconds": teacher_s,
        "train_examples": float(len(prepared.splits["train"])),
    } | prepared.meta.get("distill", {})


def main(arguments: list[str]) -> None:
    """Arms (JSON strings) -> one printed line per arm after the TF-IDF + LR baseline line."""
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
    tokens, tokenizer = tokens_for("pretrained")
    baseline = tfidf_lr_baseline(tokens)
    print(f"TF-IDF+LR dev {baseline.metrics['accuracy']:.4f}  C={baseline.params['C']}", flush=True)
    for text in arguments or ["{}"]:
        overrides = json.loads(text)
        train = RECIPE_TRAIN | overrides.pop("train", {})
        cfg = ClassifierConfig(**(RECIPE | overrides), train=train)
        with tempfile.TemporaryDirectory() as tmp:
            r = run_arm(tokens, tokenizer, cfg, Path(tmp))
        teacher = (
            (
                f"  teacher val {r['teacher_val_accuracy']:.4f} dev {r['teacher_test_accuracy']:.4f} "
                f"({r['teacher_seconds']:.0f} s, {r['augmented_examples']:.0f} augmented)"
            )
            if "teacher_val_accuracy" in r
            else ""
        )
        print(
            f"{text:80} student val {r['val_accuracy']:.4f} dev {r['dev_accuracy']:.4f} best epoch {r['best_epoch']:.0f} "
            f"{r['student_seconds']:.0f} s (+{r['prepare_seconds']:.0f} s prepare/teacher){teacher}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
