"""Sentence splitting for English and Chinese text (used by the extractive summarizer).

`split_sentences(text)` runs, in order:
1. line breaks: every line is split on its own (a line break always ends a sentence);
2. Chinese sentence ends: 。！？ (repeated, or mixed like ？！) plus closing quotes/brackets, and
   ASCII . ! ? directly after a CJK character;
3. the remaining pieces go to the English engine: `pysbd` (the default: it won on the labelled
   fixture `tests/tasks/train/fixtures/sentences.yaml`, see docs/summarization.md), `blingfire`,
   or `regex` (the splitter used before); sentences glued without a space after a full stop
   (`$10.9bn.For`) are separated first;
4. any piece longer than `max_words` words (CJK: `2 * max_words` characters) is cut into
   fixed-length chunks, so a text without sentence punctuation never becomes one huge sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

Engine = Literal["pysbd", "blingfire", "regex"]

# the splitter before this module (kept for the comparison): . ! ? (+ closing quote/bracket)
# before whitespace, 。！？ (+ closing quote), or a line break
LEGACY_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'”’)\]])\s+|(?<=[。！？])(?![”」』’）])\s*|(?<=[。！？][”」』’）])\s*|\s*\n\s*")
LINES = re.compile(r"\s*\n\s*")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# a Chinese sentence end: 。！？ runs (or . ! ? after a CJK character), then closing quotes/brackets
CJK_END = re.compile(r"(?:[。！？]+|(?<=[\u3400-\u9fff])[.!?]+)[”」』’）》\"']*")
# "...$10.9bn.For the year" -> a boundary after "bn." (lower-case/digit/%, full stop, Capital+lower)
GLUED = re.compile(r"(?<=[a-z0-9%)][.!?])(?=[A-Z][a-z])")
WORD = re.compile(r"\S+")
LATIN = re.compile(r"[A-Za-z]")


def legacy_split(text: str) -> list[str]:
    """The previous regex splitter, unchanged: text -> stripped non-empty sentences."""
    return [s.strip() for s in LEGACY_END.split(text or "") if s and s.strip()]


@lru_cache(maxsize=4)
def _pysbd() -> Callable[[str], list[str]]:
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter.segment


def _blingfire(text: str) -> list[str]:
    import blingfire

    return blingfire.text_to_sentences(text).split("\n")


def _regex(text: str) -> list[str]:
    return LEGACY_END.split(text)


def _english(engine: Engine) -> Callable[[str], list[str]]:
    return {"pysbd": lambda t: _pysbd()(t), "blingfire": _blingfire, "regex": _regex}[engine]


def _cjk_pieces(line: str) -> list[str]:
    """One line -> pieces ending at Chinese sentence ends (the last piece may have no end)."""
    pieces, start = [], 0
    for match in CJK_END.finditer(line):
        pieces.append(line[start : match.end()])
        start = match.end()
    pieces.append(line[start:])
    return [p for p in pieces if p.strip()]


def chunk(sentence: str, max_words: int) -> list[str]:
    """A too-long piece -> fixed-length chunks: `max_words` words, or `2 * max_words` characters
    when the piece is mostly CJK (Chinese has no spaces between words)."""
    cjk = len(CJK.findall(sentence))
    if cjk * 2 > len(sentence.replace(" ", "")):
        size = 2 * max_words
        if len(sentence) <= size:
            return [sentence]
        return [sentence[i : i + size].strip() for i in range(0, len(sentence), size) if sentence[i : i + size].strip()]
    words = WORD.findall(sentence)
    if len(words) <= max_words:
        return [sentence]
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def split_sentences(text: str, engine: Engine = "pysbd", max_words: int = 80) -> list[str]:
    """Text (English, Chinese or mixed) -> its non-empty sentences, stripped, in order; none
    longer than `max_words` words (CJK: `2 * max_words` characters)."""
    english = _english(engine)
    out: list[str] = []
    for line in LINES.split(text or ""):
        if not line.strip():
            continue
        for piece in _cjk_pieces(line):
            if LATIN.search(piece):
                parts = [s for glued in GLUED.split(piece) for s in english(glued)]
            else:
                parts = [piece]
            for part in parts:
                if part and part.strip():
                    out.extend(chunk(part.strip(), max_words))
    return out
