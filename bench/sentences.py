"""Score the sentence splitter engines on the labelled fixture (EN + ZH).

`python -P bench/sentences.py` (-P: bench/tokenize.py must not shadow the stdlib) prints, per engine, cases split exactly right (all, EN, ZH) and the
sentence-level F1 (a predicted sentence counts when it equals an expected one).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from tasks.train.models.sentences import legacy_split, split_sentences

FIXTURE = Path(__file__).resolve().parents[1] / "tests/tasks/train/fixtures/sentences.yaml"
CHUNK_WORDS = 10  # the fixture's chunk cases assume 10 words / 20 CJK characters per chunk


def load_cases(path: Path = FIXTURE) -> list[dict]:
    """The fixture's cases: `id`, `text`, `sentences` (and `chunk: true` for chunking cases)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def score(split, cases: list[dict]) -> dict[str, float]:
    """A splitter (text, max_words -> sentences) over the cases -> `exact` (share of cases split exactly),
    `exact_en`, `exact_zh`, `f1` (sentence-level, micro over cases)."""
    exact = {"all": [], "en": [], "zh": []}
    tp = n_pred = n_gold = 0
    for case in cases:
        got, want = split(case["text"], CHUNK_WORDS if case.get("chunk") else 80), case["sentences"]
        ok = got == want
        exact["all"].append(ok)
        exact["zh" if case["id"].startswith("zh") else "en"].append(ok)
        tp += sum((Counter(got) & Counter(want)).values())
        n_pred, n_gold = n_pred + len(got), n_gold + len(want)
    f1 = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else 1.0
    return {
        "exact": sum(exact["all"]) / len(cases),
        "exact_en": sum(exact["en"]) / max(len(exact["en"]), 1),
        "exact_zh": sum(exact["zh"]) / max(len(exact["zh"]), 1),
        "f1": f1,
    }


def engines() -> dict:
    """Name -> splitter, as compared in docs/summarization.md."""
    return {
        "legacy regex (before)": lambda t, w: legacy_split(t),
        "regex + wrapper": lambda t, w: split_sentences(t, "regex", w),
        "blingfire 0.1.8 + wrapper": lambda t, w: split_sentences(t, "blingfire", w),
        "pysbd 0.3.4 + wrapper": lambda t, w: split_sentences(t, "pysbd", w),
    }


def main() -> None:
    cases = load_cases()
    verbose = "-v" in sys.argv
    print(f"{len(cases)} cases")
    for name, split in engines().items():
        started = time.perf_counter()
        result = score(split, cases)
        ms = (time.perf_counter() - started) * 1000
        print(f"{name:28s} exact {result['exact']:.3f} (en {result['exact_en']:.3f}, zh {result['exact_zh']:.3f})  f1 {result['f1']:.3f}  {ms:.0f} ms")
        if verbose:
            for case in cases:
                got = split(case["text"], CHUNK_WORDS if case.get("chunk") else 80)
                if got != case["sentences"]:
                    print("   miss", case["id"], got)


if __name__ == "__main__":
    main()
