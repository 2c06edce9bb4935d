"""Baselines beside the model: TF-IDF + LR on exactly the test split, Kneser-Ney that is a distribution."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from tasks.evaluate.baselines import baseline_sentence, card_section, gain_gate, gains, summary_lines, tfidf_lr_baseline
from tasks.evaluate.kneser_ney import evaluate_windows, probabilities, train_kneser_ney

POS = ["great fun film", "a lovely warm story", "great acting and lovely music", "fun and warm", "lovely great"]
NEG = ["dull boring film", "an awful mess", "boring and awful plot", "dull mess", "awful dull acting"]


def _tokens(rows: list[tuple[str, str, str, str]]) -> pa.Table:
    ids, texts, labels, splits = zip(*rows)
    return pa.table({"id": list(ids), "text": list(texts), "label": list(labels), "split": list(splits)})


def _fixture() -> pa.Table:
    rows = []
    for i in range(40):
        rows.append((f"p{i}", POS[i % 5], "positive", "train"))
        rows.append((f"n{i}", NEG[i % 5], "negative", "train"))
    rows += [("v1", "great warm film", "positive", "validation"), ("v2", "awful boring", "negative", "validation")]
    # the test split: two easy rows and one the words cannot get right ("lovely" in a negative row)
    rows += [("t1", "lovely fun", "positive", "test"), ("t2", "boring mess", "negative", "test"), ("t3", "lovely lovely great", "negative", "test")]
    rows += [("u1", "awful", None, "test")]  # unlabelled test rows are not scored (as for the model)
    return _tokens(rows)


def test_tfidf_baseline_is_trained_on_train_and_scored_on_exactly_the_test_rows():
    table = _fixture()
    result = tfidf_lr_baseline(table)
    assert result.test_ids == ["t1", "t2", "t3"]
    assert result.name == "tfidf_word_logreg" and result.params["C"] in (0.25, 1.0, 4.0, 16.0, 64.0)
    assert result.metrics["accuracy"] == pytest.approx(2 / 3)
    # the same figure by hand: fit on the 80 train rows with the chosen C, predict the 3 test rows
    train = [r for r in table.to_pylist() if r["split"] == "train"]
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|[!?]")
    lr = LogisticRegression(C=result.params["C"], max_iter=2000).fit(vec.fit_transform([r["text"] for r in train]), [r["label"] for r in train])
    predicted = lr.predict(vec.transform(["lovely fun", "boring mess", "lovely lovely great"]))
    assert list(predicted) == ["positive", "negative", "positive"]


def test_tfidf_baseline_uses_char_ngrams_for_chinese():
    rows = [(f"p{i}", "这家酒店很好，服务很棒", "positive", "train") for i in range(10)]
    rows += [(f"n{i}", "房间太差了，服务很糟", "negative", "train") for i in range(10)]
    rows += [("t1", "服务很棒", "positive", "test"), ("t2", "太差了", "negative", "test")]
    result = tfidf_lr_baseline(_tokens(rows))
    assert result.params["analyzer"] == "char" and result.metrics["accuracy"] == 1.0


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_probabilities_sum_to_one_over_the_vocabulary(order):
    rng = np.random.default_rng(order)
    vocab = 40
    windows = [rng.integers(0, 25, size=rng.integers(2, 30)) for _ in range(150)]  # ids 25..39 never seen
    model = train_kneser_ney(windows, vocab, order)
    contexts = [list(windows[0][: order - 1]), [-1] * (order - 1), [39] * (order - 1), [-1] + [3] * (order - 2)]
    for context in contexts:
        context = np.array(context[: order - 1], dtype=np.int64)
        p = probabilities(model, np.tile(context, (vocab, 1)), np.arange(vocab))
        assert p.min() > 0
        assert p.sum() == pytest.approx(1.0, abs=1e-9)


def test_kneser_ney_scores_every_target_after_a_window_start_and_learns_a_pattern():
    windows = [np.array([1, 2, 3, 4] * 10)] * 5
    model = train_kneser_ney(windows, vocab_size=100, order=3)
    result = evaluate_windows(model, [np.array([1, 2, 3, 4, 1, 2]), np.array([3, 4, 1])])
    assert result["tokens"] == 5 + 2
    assert result["perplexity"] < 2.0  # a uniform model over 100 ids would give 100


def test_gains_are_positive_when_the_model_is_better_also_for_perplexity():
    out = gains({"accuracy": 0.85, "perplexity": 50.0}, {"accuracy": 0.80, "perplexity": 80.0, "roc_auc": 0.9})
    assert out == pytest.approx(
        {"baseline_accuracy": 0.80, "gain_over_baseline_accuracy": 0.05, "baseline_perplexity": 80.0, "gain_over_baseline_perplexity": 30.0}
    )
    assert baseline_sentence({"accuracy": 0.85, **out}, "accuracy").startswith("beats the baseline by 5.00 points (accuracy 0.85")
    worse = gains({"accuracy": 0.78}, {"accuracy": 0.80})
    assert baseline_sentence({"accuracy": 0.78, **worse}, "accuracy").startswith("does not beat the baseline: -2.00 points")
    assert summary_lines({"accuracy": 0.78, **worse})[0].strip().startswith("baseline: does not beat")
    assert "## Baseline" in card_section({"accuracy": 0.78, **worse})
    assert summary_lines({"accuracy": 0.78}) == [] and card_section({}) == []


def test_gain_gate():
    metrics = {"accuracy": 0.81, "baseline_accuracy": 0.80, "gain_over_baseline_accuracy": 0.01}
    assert gain_gate(metrics, "accuracy", None) == (True, "")
    assert gain_gate(metrics, "accuracy", 0.005)[0]
    ok, reason = gain_gate(metrics, "accuracy", 0.02)
    assert not ok and "below min_gain_over_baseline 0.02" in reason
    assert not gain_gate({"accuracy": 0.9}, "accuracy", 0.0)[0]  # no baseline: cannot show the gain


def test_lm_baseline_scores_the_same_test_targets_as_the_lstm():
    from tasks.evaluate.baselines import lm_baseline
    from tasks.tokenize import TokenizeConfig, encode_table, train_tokenizer
    from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind

    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat and the log"] * 6
    splits = ["train"] * 20 + ["test"] * 4
    cfg = TokenizeConfig(kind="bpe", vocab_size=60, min_frequency=1)
    tokenizer = train_tokenizer([texts], cfg)
    tokens = encode_table(pa.table({"id": [str(i) for i in range(24)], "text": texts, "label": [None] * 24, "split": splits}), tokenizer, cfg)
    kind, model_cfg = LanguageModelKind(), LanguageModelConfig(seq_len=8)
    result = lm_baseline(kind, tokens, tokenizer, model_cfg, order=3)
    test_windows = kind.prepare(tokens, tokenizer, model_cfg).splits["test"]
    assert result.params["test_tokens"] == sum(len(w["input_ids"]) - 1 for w in test_windows) > 0
    assert result.name == "kneser_ney_3gram"
    assert 1.0 < result.metrics["perplexity"] < tokenizer.get_vocab_size()


def test_card_section_names_the_baseline_of_the_kind():
    lm = {"perplexity": 4.136, **gains({"perplexity": 4.136}, {"perplexity": 7.034})}
    card = "\n".join(card_section(lm, "lstm_lm"))
    assert "Kneser-Ney" in card and "TF-IDF" not in card
    assert "The model beats the baseline by 2.90 (perplexity 4.136 vs 7.034; lower is better)." in card
    clf = {"accuracy": 0.85, **gains({"accuracy": 0.85}, {"accuracy": 0.80})}
    card = "\n".join(card_section(clf, "lstm_classifier"))
    assert "TF-IDF + logistic regression" in card and "Kneser-Ney" not in card
    assert "The model beats the baseline by 5.00 points (accuracy 0.85 vs 0.8)." in card
    assert "Kneser-Ney" in "\n".join(card_section(clf))  # kind unknown: the generic note names both
