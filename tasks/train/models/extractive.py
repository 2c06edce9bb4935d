"""Plain functions of extractive summarization: ROUGE words and n-gram F1 (for training labels and
validation), the greedy oracle, per-sentence position features, the summary-length rule and
selection with trigram blocking. The reported test ROUGE uses Google's `rouge-score`
(tasks/evaluate/rouge.py); the fast integer ROUGE here only labels and selects.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

ROUGE_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")
CJK_END = tuple("。！？”」』’）")
RELATIVE_BUCKETS = 10
SCALAR_FEATURES = 4


def rouge_words(text: str) -> list[str]:
    """Text -> the lower-cased words ROUGE counts (letters/digits runs; each CJK character alone)."""
    return ROUGE_WORD.findall(text.lower())


def ngrams(words: Sequence[Any], n: int) -> Counter[tuple[Any, ...]]:
    """Words -> counts of their n-grams."""
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _f1(candidate: Counter[Any], reference: Counter[Any]) -> float:
    overlap = sum((candidate & reference).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(candidate.values()), overlap / sum(reference.values())
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: Sequence[Any], reference: Sequence[Any], n: int) -> float:
    """ROUGE-N F1 of a candidate word list against a reference word list (0 when either is empty)."""
    return _f1(ngrams(candidate, n), ngrams(reference, n))


def oracle_labels(sentences: Sequence[Sequence[Any]], reference: Sequence[Any]) -> list[int]:
    """Greedy oracle (Nallapati et al. 2017): sentences' words + the reference's words -> 0/1 per
    sentence. Repeatedly add the sentence that most raises ROUGE-1 F + ROUGE-2 F of the chosen
    sentences; stop when none raises it (ties: the earlier sentence)."""
    grams = [(ngrams(s, 1), ngrams(s, 2)) for s in sentences]
    ref1, ref2 = ngrams(reference, 1), ngrams(reference, 2)
    chosen: list[int] = []
    have1, have2 = Counter(), Counter()
    best = 0.0
    while True:
        gains = [(_f1(have1 + grams[i][0], ref1) + _f1(have2 + grams[i][1], ref2), -i) for i in range(len(sentences)) if i not in chosen]
        if not gains or max(gains)[0] <= best:
            break
        best, negative_index = max(gains)
        chosen.append(-negative_index)
        have1, have2 = have1 + grams[-negative_index][0], have2 + grams[-negative_index][1]
    return [int(i in chosen) for i in range(len(sentences))]


def position_features(n: int) -> tuple[list[int], list[int], list[list[float]]]:
    """Sentence count `n` -> per sentence: absolute position (0-based), relative-position bucket
    (0..RELATIVE_BUCKETS-1, `floor(10 * i / n)`), and scalar features `[i / n, 1 / (i + 1),
    first sentence, log(n + 1) / log(101)]`."""
    absolute = list(range(n))
    relative = [min(RELATIVE_BUCKETS - 1, RELATIVE_BUCKETS * i // max(n, 1)) for i in range(n)]
    doc_size = math.log(n + 1) / math.log(101)
    scalars = [[i / max(n, 1), 1.0 / (i + 1), float(i == 0), doc_size] for i in range(n)]
    return absolute, relative, scalars


def summary_length(rule: dict[str, Any], n: int) -> int:
    """Length rule `{"mode": "count", "value": k}` or `{"mode": "ratio", "value": r}` + sentence
    count `n` -> how many sentences to select (at least 1, at most n)."""
    if n <= 0:
        return 0
    k = int(rule["value"]) if rule["mode"] == "count" else math.ceil(float(rule["value"]) * n)
    return max(1, min(n, k))


def length_rules(counts: Sequence[int], ratios: Sequence[float]) -> list[dict[str, Any]]:
    """The candidate length rules compared on validation."""
    return [{"mode": "count", "value": int(k)} for k in counts] + [{"mode": "ratio", "value": float(r)} for r in ratios]


def select(scores: Sequence[float], words: Sequence[Sequence[Any]], k: int, trigram_blocking: bool = True) -> list[int]:
    """Sentence scores + ROUGE words per sentence -> indices of up to `k` sentences in document
    order: best score first, skipping a sentence that shares a word trigram with one already
    picked (trigram blocking, Paulus et al. 2018) when `trigram_blocking`. Ties: earlier first.
    When blocking leaves fewer than `k`, the summary is shorter."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    picked: list[int] = []
    seen: set[tuple[Any, ...]] = set()
    for i in order:
        if len(picked) >= k:
            break
        grams = set(ngrams(words[i], 3)) if trigram_blocking else set()
        if grams & seen:
            continue
        picked.append(i)
        seen |= grams
    return sorted(picked)


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences -> one text: joined by a space, except after CJK sentence ends."""
    out = ""
    for sentence in sentences:
        out += ("" if not out or out.endswith(CJK_END) else " ") + sentence
    return out
