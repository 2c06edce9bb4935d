"""Benchmark (not a test): MB/s of the tokenize stage's `encode_table` against raw HF `tokenizers`
and against `datasets.Dataset.map(batched=True)`, on the same text, vocabulary and batch size.

Text: SST-2 train + IMDb 5k + AG News test from ../shared/data, replicated to `--mb` MB
(generated Zipf-ish English when the folder is absent). One BPE tokenizer (8k vocab) is trained on
the unreplicated text and shared by all contenders. Every contender encodes `--batch-rows` rows per
call. MB = UTF-8 bytes of the input text; best of `--repeats` runs.

Contenders:
- stage: `encode_table(table, ...)` -> Arrow table with `input_ids` list<int32> + `length`;
  includes reading the strings out of Arrow (no truncation: `max_length` is set above any row).
- raw encode_batch: `Tokenizer.encode_batch(batch)` per batch, `Encoding`s dropped, no ids
  extracted (the strictest reference: the stage must also pull ids out and build a column).
- raw encode_batch + ids: the same plus `[e.ids for e in encodings]` (Python lists of ids).
- raw encode_batch_fast + ids: the binding's offset-free variant (for reference).
- datasets.map: `Dataset.map(fn, batched=True)` where fn returns `[e.ids for e in
  tok.encode_batch(batch["text"])]` into an `input_ids` column (in memory, progress bars off).

    .venv/bin/python bench/tokenize.py                # ~64 MB
    .venv/bin/python bench/tokenize.py --mb 8 --repeats 1
"""

from __future__ import annotations

import os
import sys

# This script shares its name with the standard library's `tokenize` (imported by `inspect`,
# hence by pydantic and datasets): drop its own folder from the import path before importing them.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import csv  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

from tasks.tokenize.config import TokenizeConfig  # noqa: E402
from tasks.tokenize.encode import DEFAULT_BATCH_ROWS, encode_table  # noqa: E402
from tasks.tokenize.trainer import train_tokenizer  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_texts(data: Path) -> list[str]:
    """SST-2 sentences, IMDb reviews and AG News title + description, as plain strings."""
    texts: list[str] = []
    with open(data / "sst2" / "train.tsv", encoding="utf-8") as f:
        texts += [line.split("\t", 1)[1] for line in f.read().splitlines()[1:]]
    with open(data / "imdb_5k" / "movie_review.csv", encoding="utf-8", newline="") as f:
        texts += [row["review"] for row in csv.DictReader(f)]
    with open(data / "ag_news_test" / "test.csv", encoding="utf-8", newline="") as f:
        texts += [f"{row[1]}. {row[2]}" for row in csv.reader(f)]
    return texts


def generated_texts(n: int = 50_000, seed: int = 0) -> list[str]:
    """Fallback corpus: sentences of 5-80 words over a Zipf-ish 20k-word vocabulary."""
    rng = random.Random(seed)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10))) for _ in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(words))]
    return [" ".join(rng.choices(words, weights, k=rng.randint(5, 80))) + "." for _ in range(n)]


def replicate(texts: list[str], megabytes: float) -> list[str]:
    size = sum(len(t.encode("utf-8")) for t in texts)
    copies = max(1, round(megabytes * 1e6 / size))
    return texts * copies


def best_seconds(contenders: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each contender over `repeats` rounds; rounds interleave the contenders so
    that load from other users of the machine falls on all of them alike."""
    best = {name: float("inf") for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def raw(encode: Callable[[list[str]], list], batches: list[list[str]], keep_ids: bool) -> None:
    """Encode every batch, dropping the `Encoding`s after each batch (as the stage does); with
    `keep_ids`, keep the Python lists of ids (the stage keeps its ids as Arrow)."""
    kept = []
    for batch in batches:
        encodings = encode(batch)
        if keep_ids:
            kept.append([e.ids for e in encodings])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=64.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    datasets.disable_progress_bars()
    source = "shared data (sst2 + imdb_5k + ag_news_test)" if (args.data / "sst2").is_dir() else "generated text"
    base = shared_texts(args.data) if (args.data / "sst2").is_dir() else generated_texts()
    cfg = TokenizeConfig(kind="bpe", vocab_size=8000, max_length=1_000_000)
    tok = train_tokenizer([base[i : i + 5000] for i in range(0, len(base), 5000)], cfg)
    texts = replicate(base, args.mb)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    table = pa.table({"text": texts})
    rows = args.batch_rows
    batches = [texts[i : i + rows] for i in range(0, len(texts), rows)]
    print(
        f"{source}: {len(texts):,} rows, {megabytes:.1f} MB; bpe vocab {tok.get_vocab_size()}; "
        f"batch {rows} rows; {os.cpu_count()} CPUs (shared machine: figures vary run to run)"
    )

    def to_ids(batch: dict[str, list[str]]) -> dict[str, list[list[int]]]:
        return {"input_ids": [e.ids for e in tok.encode_batch(batch["text"])]}

    dataset = datasets.Dataset(table)
    contenders: dict[str, Callable[[], object]] = {
        "stage encode_table": lambda: encode_table(table, tok, cfg, batch_rows=rows),
        "raw encode_batch": lambda: raw(tok.encode_batch, batches, keep_ids=False),
        "raw encode_batch + ids": lambda: raw(tok.encode_batch, batches, keep_ids=True),
        "raw encode_batch_fast + ids": lambda: raw(tok.encode_batch_fast, batches, keep_ids=True),
        "datasets.map(batched=True)": lambda: dataset.map(to_ids, batched=True, batch_size=rows, keep_in_memory=True),
    }
    check = encode_table(table.slice(0, 1000), tok, cfg)["input_ids"].to_pylist()
    assert check == [e.ids for e in tok.encode_batch(texts[:1000])], "stage ids differ from raw ids"
    seconds = best_seconds(contenders, args.repeats)
    stage = seconds["stage encode_table"]
    print(f"\n{'contender':30} {'seconds':>8} {'MB/s':>8} {'stage speed / this':>19}")
    for name, s in seconds.items():
        print(f"{name:30} {s:8.2f} {megabytes / s:8.2f} {s / stage:18.2f}x")
    print(
        f"\ntargets: stage >= 0.9x raw encode_batch -> {seconds['raw encode_batch'] / stage:.2f}x; "
        f"stage >= 2x datasets.map -> {seconds['datasets.map(batched=True)'] / stage:.2f}x"
    )


if __name__ == "__main__":
    main()
