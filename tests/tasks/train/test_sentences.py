"""Sentence splitter: the labelled EN/ZH fixture (floors per engine, the shipped engine beats the
old regex) and the no-punctuation fallbacks (line breaks, then fixed-length chunks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tasks.train.models.sentences import chunk, legacy_split, split_sentences

BENCH = Path(__file__).resolve().parents[3] / "bench" / "sentences.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_sentences", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_has_enough_cases_in_both_languages():
    cases = _bench().load_cases()
    assert len(cases) >= 60
    assert sum(c["id"].startswith("zh") for c in cases) >= 10


def test_shipped_engine_beats_the_old_regex_on_the_fixture():
    bench = _bench()
    cases = bench.load_cases()
    legacy = bench.score(lambda t, w: legacy_split(t), cases)
    shipped = bench.score(lambda t, w: split_sentences(t, "pysbd", w), cases)
    blingfire = bench.score(lambda t, w: split_sentences(t, "blingfire", w), cases)
    assert shipped["exact"] >= 0.95 and shipped["exact_zh"] == 1.0, shipped
    assert shipped["exact"] > blingfire["exact"] > legacy["exact"], (shipped, blingfire, legacy)
    assert legacy["exact"] < 0.7, legacy


def test_text_without_sentence_punctuation_is_not_one_sentence():
    lines = "markets rallied on monday\nbonds fell\ntraders were cautious"
    assert split_sentences(lines) == ["markets rallied on monday", "bonds fell", "traders were cautious"]
    words = " ".join(f"w{i}" for i in range(250))
    pieces = split_sentences(words, max_words=80)
    assert [len(p.split()) for p in pieces] == [80, 80, 80, 10]
    zh = "我" * 350
    assert [len(p) for p in split_sentences(zh, max_words=80)] == [160, 160, 30]


def test_chunk_keeps_short_pieces_whole():
    assert chunk("a short piece", 10) == ["a short piece"]
    assert chunk("一二三", 1) == ["一二", "三"]


@pytest.mark.parametrize("engine", ["pysbd", "blingfire", "regex"])
def test_every_engine_handles_empty_and_chinese(engine):
    assert split_sentences("", engine) == [] and split_sentences(" \n ", engine) == []
    assert split_sentences("他说：“我们赢了。”大家都笑了。", engine) == ["他说：“我们赢了。”", "大家都笑了。"]
