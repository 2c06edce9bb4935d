"""Peak RSS of `corpusmill run --stages ingest,clean` at two input sizes (not a test).

    nice -n 10 .venv/bin/python bench/memory.py --mb 250 1000          # the issue's sizes
    nice -n 10 .venv/bin/python bench/memory.py --mb 100 400           # quicker
    nice -n 10 .venv/bin/python bench/memory.py --mb 100 400 --code ../other-checkout   # another checkout's code

Generates a jsonl corpus of each size under --tmp (documents of 10-120 words drawn from a Zipf
vocabulary (about 400 bytes: many rows per GB), 4 % exact duplicates with case/space changes, 4 % near duplicates with one word
changed, 1 % with an e-mail and a phone number, a `summary` carried column), writes a pipelines
file with the default clean steps, and runs the CLI as the only child of a fresh measuring process:
peak RSS is that child's `ru_maxrss` (RUSAGE_CHILDREN: the largest process of the run); the sum over
the process tree is sampled every 0.2 s with psutil as a cross-check.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
workspace: {ws}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  mem:
    source: {{uri: "{uri}", format: jsonl, text_column: text, id_column: id, columns: [summary]}}
    clean: [normalize, {{length: {{min_words: 3}}}}, exact_dedup, near_dedup, pii]
    models:
      lm: {{kind: lstm_lm}}
"""


def generate(path: Path, megabytes: int, seed: int = 0) -> int:
    """Write a jsonl corpus of about `megabytes` MiB to `path` (reused when present); return its documents."""
    marker = path.with_suffix(".docs")
    if path.exists() and marker.exists():
        return int(marker.read_text())
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, size=rng.integers(2, 10))) for _ in range(20_000)])
    cdf = np.cumsum(1.0 / np.arange(1, len(vocab) + 1))
    cdf /= cdf[-1]
    target, size, docs = megabytes * 2**20, 0, 0
    recent: list[str] = []
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as out:
        while size < target:
            roll = rng.random()
            if recent and roll < 0.04:
                text = recent[rng.integers(len(recent))].upper()
            elif recent and roll < 0.08:
                words = recent[rng.integers(len(recent))].split(" ")
                words[rng.integers(len(words))] = "zyzzyva"
                text = " ".join(words)
            else:
                text = " ".join(vocab[np.searchsorted(cdf, rng.random(rng.integers(10, 120)))])
                if roll > 0.99:
                    text += f" write to user{docs}@example.com or call +1 (415) 555-{docs % 10000:04d}"
                recent = (recent + [text])[-1000:]
            line = json.dumps({"id": f"d{docs:09d}", "text": text, "summary": text[:80]}) + "\n"
            out.write(line)
            size += len(line)
            docs += 1
    tmp.rename(path)
    marker.write_text(str(docs))
    return docs


MEASURE = """
import json, resource, subprocess, sys, time, psutil
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
proc, tree_peak = psutil.Process(p.pid), 0
while p.poll() is None:
    try:
        tree = [proc] + proc.children(recursive=True)
        tree_peak = max(tree_peak, sum(c.memory_info().rss for c in tree if c.is_running()))
    except psutil.Error:
        pass
    time.sleep(0.2)
out = p.stdout.read()
print(json.dumps({"rc": p.returncode, "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "tree_peak_mb": tree_peak / 2**20, "tail": out[-1500:]}))
"""


def measure(megabytes: int, tmp: Path, code: Path) -> dict:
    """Generate the corpus, run ingest+clean on it in a fresh workspace; return peak RSS figures and seconds."""
    corpus = tmp / f"corpus-{megabytes}MB.jsonl"
    docs = generate(corpus, megabytes)
    ws = tmp / f"ws-{megabytes}-{code.name}"
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    config = ws / "pipelines.yaml"
    config.write_text(CONFIG.format(ws=ws, uri=corpus))
    env = dict(
        os.environ,
        PYTHONPATH=str(code),
        DO_NOT_TRACK="true",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
    )
    cmd = [sys.executable, "-m", "corpusmill.cli", "run", "mem", "--stages", "ingest,clean", "--config", str(config), "--workspace", str(ws)]
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env, cwd=code, check=False)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"]:
        raise RuntimeError(f"run failed at {megabytes} MB:\n{result['tail']}\n{out.stderr[-2000:]}")
    shutil.rmtree(ws, ignore_errors=True)
    return {
        "mb": megabytes,
        "docs": docs,
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "tree_peak_mb": round(result["tree_peak_mb"]),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, nargs=2, default=[250, 1000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--tmp", type=Path, default=Path("/tmp/corpusmill-memory"))
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose code runs (default: this one)")
    args = parser.parse_args()
    args.tmp.mkdir(parents=True, exist_ok=True)
    small, large = (measure(mb, args.tmp, args.code.resolve()) for mb in args.mb)
    for r in (small, large):
        print(json.dumps(r))
    change = (large["peak_rss_mb"] - small["peak_rss_mb"]) / small["peak_rss_mb"]
    print(
        f"peak RSS ingest+clean: {small['mb']} MB -> {small['peak_rss_mb']} MB, {large['mb']} MB -> "
        f"{large['peak_rss_mb']} MB ({change:+.0%}); process tree {small['tree_peak_mb']} -> {large['tree_peak_mb']} MB"
    )


if __name__ == "__main__":
    main()
