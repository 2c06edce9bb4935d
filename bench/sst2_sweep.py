"""Measurement (not a test): SST-2 from-scratch classifier configurations, chosen on validation.

Each argument is a JSON object of `ClassifierConfig` overrides (plus `tok`/`vocab` for the
tokenizer and `train` for `TrainConfig` overrides) on top of the base: wordpiece 16k, BiLSTM 128,
embedding 256, dropout 0.5, max-pool, max_len 64, batch 32, lr 2e-3, 12 epochs, early stopping
patience 3. train.tsv is split 90/10 train/validation by id hash (as `bench.ulmfit` does);
dev.tsv is only reported. Prints one line per configuration: validation and dev accuracy, best
epoch, seconds.

    .venv/bin/python -m bench.sst2_sweep '{}' '{"tok": "bpe", "vocab": 8000}' '{"hidden_size": 256}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.ulmfit import run_arm, tokens_tables

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sst2"
BASE = {"embedding_dim": 256, "hidden_size": 128, "bidirectional": True, "dropout": 0.5, "max_length": 64}
BASE_TRAIN = {"epochs": 12, "batch_size": 32, "lr": 2e-3, "progress": False, "seed": 13, "early_stopping_patience": 3}


def main(arguments: list[str]) -> None:
    tokenized: dict[tuple[str, int], tuple] = {}
    for text in arguments or ["{}"]:
        overrides = json.loads(text)
        kind, vocab = overrides.pop("tok", "wordpiece"), overrides.pop("vocab", 16000)
        if (kind, vocab) not in tokenized:
            tokenized[(kind, vocab)] = tokens_tables(DATA, vocab, 13, None, kind)
        tokens, tokenizer = tokenized[(kind, vocab)]
        run_arm(text, tokens, tokenizer, BASE, BASE_TRAIN, overrides)


if __name__ == "__main__":
    main(sys.argv[1:])
