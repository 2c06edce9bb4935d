"""ROUGE with Google's `rouge-score` package (the reference Python port of ROUGE-1.5.5).

English: its default tokenizer (lower-case, non-alphanumerics dropped) with the Porter stemmer.
Chinese: that tokenizer drops every non-ASCII character, so a character tokenizer is passed
instead: each CJK character is a token, other runs of letters/digits are lower-cased words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from rouge_score import rouge_scorer, tokenizers

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CHAR_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
Mode = Literal["auto", "stem", "chars"]


class CharTokenizer(tokenizers.Tokenizer):
    """rouge-score tokenizer for Chinese: every CJK character a token; other letter/digit runs
    lower-cased words (no stemming)."""

    def tokenize(self, text: str) -> list[str]:
        return CHAR_TOKEN.findall(text.lower())


def make_scorer(mode: Literal["stem", "chars"]) -> rouge_scorer.RougeScorer:
    """`stem`: rouge-score's default tokenizer + Porter stemmer; `chars`: `CharTokenizer`."""
    if mode == "chars":
        return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=CharTokenizer())
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def resolve_mode(mode: Mode, references: Sequence[str]) -> Literal["stem", "chars"]:
    """`auto` -> `chars` when more than half the references contain a CJK character, else `stem`."""
    if mode != "auto":
        return mode
    cjk = sum(bool(CJK.search(r or "")) for r in references)
    return "chars" if cjk * 2 > len(references) else "stem"


def rouge_f(references: Sequence[str], candidates: Sequence[str], mode: Mode = "auto") -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 over pairs -> `{"rouge1_f", "rouge2_f", "rougeL_f"}` (empty input: 0)."""
    per_doc = rouge_per_doc(references, candidates, mode)
    n = max(len(per_doc), 1)
    return {f"{t}_f": sum(d[f"{t}_f"] for d in per_doc) / n for t in ROUGE_TYPES}


def rouge_per_doc(references: Sequence[str], candidates: Sequence[str], mode: Mode = "auto") -> list[dict[str, float]]:
    """ROUGE-1/2/L F1 of each (reference, candidate) pair, in order."""
    if len(references) != len(candidates):
        raise ValueError(f"{len(references)} references but {len(candidates)} candidates")
    scorer = make_scorer(resolve_mode(mode, references))
    out = []
    for ref, cand in zip(references, candidates):
        scores = scorer.score(ref or "", cand or "")
        out.append({f"{t}_f": float(scores[t].fmeasure) for t in ROUGE_TYPES})
    return out
