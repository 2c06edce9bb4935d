"""Benchmark of the clean stage against datatrove on the same generated corpus (not a test).

    .venv/bin/python bench/clean.py --scale 0.1     # 20 MB base corpus (4x run: 80 MB)
    .venv/bin/python bench/clean.py                 # 200 MB base corpus (4x run: 800 MB)

Builds a corpus from the shared datasets (documents made of sampled sentences, plus planted
exact duplicates with case/whitespace changes and planted near duplicates with one word
changed) under bench/out/, then, each in its own subprocess: corpusmill's default clean plan
(normalize, length, exact_dedup, near_dedup, pii) shard by shard with intermediates on disk, and
datatrove with the equivalent steps (FTFYFormatter, LambdaFilter on length, exact dedup,
MinHash dedup 14x8 on word 5-grams, PIIFormatter). CPU seconds (user+sys) of the child give
docs/s per core; peak RSS comes from getrusage(RUSAGE_CHILDREN) of a fresh measuring process.
datatrove is installed for this benchmark only (`pip install datatrove`).
"""

from __future__ import annotations

import os
import sys

# Running `python bench/clean.py` puts bench/ first on sys.path, where bench/tokenize.py would shadow the
# standard library's `tokenize` (imported by numpy via inspect): drop that entry before other imports.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import json
import random
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "data"
BASE_BYTES = 200 * 1024 * 1024
SHARD_DOCS = 20_000
SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")


def sentence_pools() -> list[list[str]]:
    """Sentences per source (English reviews, news; Chinese reviews, posts), cleaned of nothing on purpose."""
    import pandas as pd

    sources = [
        pd.read_csv(DATA / "imdb_5k" / "movie_review.csv")["review"],
        pd.read_json(DATA / "bbc_news_summary" / "bbc_news_summary.jsonl", lines=True)["article"],
        pd.read_csv(DATA / "chnsenticorp_htl" / "ChnSentiCorp_htl_all.csv")["review"],
        pd.read_json(DATA / "lcsts_part2" / "lcsts.jsonl", lines=True)["text"],
        pd.read_csv(DATA / "ag_news_test" / "test.csv", header=None)[2],
    ]
    return [[s for t in col.dropna() for s in SENTENCE.split(str(t)) if len(s) > 3] for col in sources]


def build_corpus(target_bytes: int, folder: Path, seed: int = 0) -> dict[str, int]:
    """Write shards of `id, text` to folder; returns planted counts."""
    if (folder / "planted.json").exists():
        return json.loads((folder / "planted.json").read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    pools = sentence_pools()
    docs: list[str] = []
    size, planted = 0, {"exact": 0, "near": 0}
    while size < target_bytes:
        roll = rng.random()
        if docs and roll < 0.04:
            text = docs[rng.randrange(len(docs))]
            text = text.upper() if rng.random() < 0.5 else text.replace(" ", "  ", 3)
            planted["exact"] += 1
        elif docs and roll < 0.08:
            text = docs[rng.randrange(len(docs))]
            words = text.split(" ")
            if len(words) < 60:
                continue
            words[rng.randrange(len(words))] = "zyzzyva"
            text = " ".join(words)
            planted["near"] += 1
        else:
            pool = pools[rng.randrange(len(pools))]
            text = " ".join(rng.choices(pool, k=rng.randint(3, 14)))
        docs.append(text)
        size += len(text.encode())
    for i in range(0, len(docs), SHARD_DOCS):
        chunk = docs[i : i + SHARD_DOCS]
        ids = [f"d{j:09d}" for j in range(i, i + len(chunk))]
        pq.write_table(pa.table({"id": ids, "text": chunk}), folder / f"part-{i // SHARD_DOCS:05d}.parquet")
    planted["docs"] = len(docs)
    planted["bytes"] = size
    (folder / "planted.json").write_text(json.dumps(planted))
    return planted


def run_ours(corpus: Path, work: Path) -> dict[str, int]:
    """corpusmill's default plan, one shard in memory at a time, intermediates on disk."""
    sys.path.insert(0, str(ROOT))
    from tasks.clean import CleanConfig, DedupPhase, StepCounters, build_plan

    plan = build_plan(CleanConfig.default(), quarantine_encoding_errors=False)
    files = sorted(corpus.glob("part-*.parquet"))
    counters = StepCounters()
    for number, phase in enumerate(plan.phases):
        target = work / f"phase{number}"
        target.mkdir(parents=True, exist_ok=True)
        decisions = phase.decide([phase.signatures(pq.read_table(f)) for f in files]) if isinstance(phase, DedupPhase) else None
        outputs = []
        for f in files:
            table = pq.read_table(f)
            result = phase.apply(table, decisions) if decisions is not None else phase.run(table)
            counters = counters.merge(result.counters)
            pq.write_table(result.kept, target / f.name)
            pq.write_table(result.quarantined, target / f"q-{f.name}")
            outputs.append(target / f.name)
        files = outputs
    kept = sum(pq.read_metadata(f).num_rows for f in files)
    steps = counters.steps
    return {"kept": kept, "exact_removed": sum(steps["exact_dedup"].dropped.values()), "near_removed": sum(steps["near_dedup"].dropped.values())}


def run_datatrove(corpus: Path, work: Path) -> dict[str, int]:
    """datatrove with the equivalent steps; its word tokenizer replaced by a whitespace/CJK splitter (no downloads)."""
    import regex
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig, ExactDedupFilter, ExactDedupSignature, ExactFindDedups
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.filters import LambdaFilter
    from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.word_tokenizers import WordTokenizer

    import xxhash
    from datatrove.utils.hashes import xxhash as dt_xxhash

    # xxhash 4 hashes bytes only, while datatrove's MinHash passes str shingles: encode them (cheap, fair).
    dt_xxhash.xxhash32 = lambda data: xxhash.xxh32_intdigest(data.encode() if isinstance(data, str) else data)
    dt_xxhash.xxhash64 = lambda data: xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)

    token = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[^\s\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]+")

    class SimpleTokenizer(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return token.findall(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return SENTENCE.split(text)

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [m.span() for m in token.finditer(text)]

    def key(doc) -> bytes:
        return " ".join(doc.text.lower().split()).encode("utf-8")

    def long_enough(doc) -> bool:
        return len(token.findall(doc.text)) >= 3

    exact = ExactDedupConfig(content_getter=key)
    minhash = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)
    tok = SimpleTokenizer("en")
    stages = [
        [ParquetReader(str(corpus), glob_pattern="*.parquet"), FTFYFormatter(), LambdaFilter(long_enough), ParquetWriter(str(work / "s1"))],
        [ParquetReader(str(work / "s1"), glob_pattern="*.parquet"), ExactDedupSignature(str(work / "esig"), config=exact)],
        [ExactFindDedups(str(work / "esig"), str(work / "edup"), config=exact)],
        [ParquetReader(str(work / "s1"), glob_pattern="*.parquet"), ExactDedupFilter(str(work / "edup"), config=exact), ParquetWriter(str(work / "s2"))],
        [ParquetReader(str(work / "s2"), glob_pattern="*.parquet"), MinhashDedupSignature(str(work / "msig"), config=minhash, language=tok)],
        [MinhashDedupBuckets(str(work / "msig"), str(work / "mbuck"), config=minhash)],
        [MinhashDedupCluster(str(work / "mbuck"), str(work / "mrem"), config=minhash)],
        [ParquetReader(str(work / "s2"), glob_pattern="*.parquet"), MinhashDedupFilter(str(work / "mrem")), PIIFormatter(), ParquetWriter(str(work / "s3"))],
    ]
    for number, pipeline in enumerate(stages):
        tasks = minhash.num_buckets if number == 5 else 1  # the bucket stage runs one task per bucket
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs{number}")).run()

    def rows(name: str) -> int:
        return sum(pq.read_metadata(f).num_rows for f in (work / name).rglob("*.parquet"))

    s1, s2, s3 = rows("s1"), rows("s2"), rows("s3")
    return {"kept": s3, "exact_removed": s1 - s2, "near_removed": s2 - s3}


def worker(kind: str, corpus: Path) -> None:
    work = OUT / f"work-{kind}-{corpus.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    start = time.perf_counter()
    result = run_ours(corpus, work) if kind == "ours" else run_datatrove(corpus, work)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.update(wall_s=time.perf_counter() - start, cpu_s=usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


def measure(kind: str, corpus: Path) -> dict:
    """Run one worker as the child of a fresh measuring process, so RUSAGE_CHILDREN holds only that run."""
    code = (
        "import json, resource, subprocess, sys;"
        f"p = subprocess.run([sys.executable, {str(Path(__file__))!r}, '--worker', {kind!r}, '--corpus', {str(corpus)!r}],"
        " capture_output=True, text=True);"
        "sys.stderr.write(p.stderr[-3000:]) if p.returncode else None;"
        "r = json.loads(p.stdout.strip().splitlines()[-1]);"
        "r['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "print(json.dumps(r))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{kind} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="base corpus = scale x 200 MB (the 4x run is 4 times that)")
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--worker", choices=["ours", "datatrove"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.corpus)
        return
    base = int(BASE_BYTES * args.scale)
    corpus1 = OUT / f"corpus-{base // 2**20}MB"
    corpus4 = OUT / f"corpus-{4 * base // 2**20}MB"
    planted1 = build_corpus(base, corpus1)
    print(f"corpus 1x: {planted1}")
    ours1 = measure("ours", corpus1)
    print(f"corpusmill 1x: {ours1}")
    if not args.skip_datatrove:
        theirs = measure("datatrove", corpus1)
        print(f"datatrove  1x: {theirs}")
    planted4 = build_corpus(4 * base, corpus4, seed=1)
    print(f"corpus 4x: {planted4}")
    ours4 = measure("ours", corpus4)
    print(f"corpusmill 4x: {ours4}")
    docs = planted1["docs"]
    ours_rate = docs / ours1["cpu_s"]
    print(
        f"\ncorpusmill: {ours_rate:,.0f} docs/s per core (CPU s {ours1['cpu_s']:.1f}, wall s {ours1['wall_s']:.1f}); "
        f"duplicates removed: exact {ours1['exact_removed']}, near {ours1['near_removed']} "
        f"(planted {planted1['exact']} exact, {planted1['near']} near)"
    )
    if not args.skip_datatrove:
        theirs_rate = docs / theirs["cpu_s"]
        print(
            f"datatrove:  {theirs_rate:,.0f} docs/s per core (CPU s {theirs['cpu_s']:.1f}, wall s {theirs['wall_s']:.1f}); "
            f"duplicates removed: exact {theirs['exact_removed']}, near {theirs['near_removed']}"
        )
        print(f"ratio corpusmill / datatrove: {ours_rate / theirs_rate:.2f}x docs/s per core")
    change = (ours4["peak_rss_mb"] - ours1["peak_rss_mb"]) / ours1["peak_rss_mb"]
    print(f"corpusmill peak RSS: 1x {ours1['peak_rss_mb']:.0f} MB, 4x {ours4['peak_rss_mb']:.0f} MB ({change:+.0%})")


if __name__ == "__main__":
    main()
