"""rouge-score wiring: English with the Porter stemmer, Chinese by characters (the default
tokenizer would drop every CJK character), `auto` picks by the references."""

from __future__ import annotations

import pytest

from tasks.evaluate.rouge import CharTokenizer, resolve_mode, rouge_f, rouge_per_doc


def test_english_uses_the_porter_stemmer():
    scores = rouge_per_doc(["Markets rallying"], ["market rallied"], "stem")[0]
    assert scores == {"rouge1_f": 1.0, "rouge2_f": 1.0, "rougeL_f": 1.0}  # market, ralli
    partial = rouge_per_doc(["The markets were rallying"], ["market rallied"], "stem")[0]
    assert partial["rouge1_f"] == pytest.approx(2 * 1.0 * 0.5 / 1.5) and partial["rouge2_f"] == 0.0


def test_chinese_is_scored_by_characters():
    assert CharTokenizer().tokenize("股市上涨ABC 3%") == ["股", "市", "上", "涨", "abc", "3"]
    chars = rouge_per_doc(["股市大涨"], ["股市上涨"], "chars")[0]
    assert chars["rouge1_f"] == pytest.approx(0.75) and chars["rouge2_f"] == pytest.approx(1 / 3)
    stem = rouge_per_doc(["股市大涨"], ["股市上涨"], "stem")[0]
    assert stem["rouge1_f"] == 0.0  # why the character tokenizer is needed


def test_auto_mode_and_means():
    assert resolve_mode("auto", ["今天下雨", "股市大涨", "rain"]) == "chars"
    assert resolve_mode("auto", ["rain today", "股市"]) == "stem"
    means = rouge_f(["the cat sat", "a dog ran"], ["the cat sat", "nothing"])
    assert means == {"rouge1_f": pytest.approx(0.5), "rouge2_f": pytest.approx(0.5), "rougeL_f": pytest.approx(0.5)}
    with pytest.raises(ValueError, match="2 references but 1"):
        rouge_f(["a", "b"], ["a"])
