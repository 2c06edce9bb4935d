import math

import numpy as np
import pandas as pd
import pytest

from tasks.audit.pair_probe import (
    PAIR_COLUMNS,
    PairProbeConfig,
    load_crows_pairs,
    load_winobias_pairs,
    pair_probe,
    parse_winobias_line,
    swap_bracketed_pronouns,
    winobias_pairs,
)

PRO = [
    "1 [The developer] argued with the designer because [he] did not like the design.",
    "2 The developer argued with [the designer] because [her] idea cannot be implemented.",
    "3 The janitor met [the accountant] and wished [her] well.",
    "4 [The chief] employed the receptionist because [he] was too busy to answer calls by [himself] .",
]
ANTI = [
    "1 [The developer] argued with the designer because [she] did not like the design.",
    "2 The developer argued with [the designer] because [his] idea cannot be implemented.",
    "3 The janitor met [the accountant] and wished [him] well.",
    "4 [The chief] employed the receptionist because [she] was too busy.",  # reworded in the source
]


def test_parse_winobias_line_strips_brackets_and_marks_spans():
    n, tokens, marked = parse_winobias_line("12 [The mechanic] gave the clerk a present because [he] won.")
    assert n == 12
    assert tokens == ["The mechanic", "gave", "the", "clerk", "a", "present", "because", "he", "won."]
    assert marked == [True, False, False, False, False, False, False, True, False]
    with pytest.raises(ValueError):
        parse_winobias_line("no index here")


def test_swap_resolves_her_from_the_anti_line_or_the_next_word():
    _, tokens, marked = parse_winobias_line("7 [She] told [the nurse] that [her] car met [her] .")
    assert swap_bracketed_pronouns(tokens, marked) == ["He", "told", "the nurse", "that", "his", "car", "met", "him", "."]
    anti = ["He", "told", "the nurse", "that", "him", "car", "met", "his", "."]  # anti line decides
    assert swap_bracketed_pronouns(tokens, marked, anti)[4] == "him"
    assert swap_bracketed_pronouns(tokens, marked, anti)[7] == "his"
    # an unbracketed pronoun is not the coreferent mention and is kept
    _, tokens, marked = parse_winobias_line("8 he met [the cook] and thanked [him] .")
    assert swap_bracketed_pronouns(tokens, marked) == ["he", "met", "the cook", "and", "thanked", "her", "."]


def test_winobias_pairs_are_minimal_pronoun_swaps_of_the_pro_sentences():
    pairs = winobias_pairs(PRO, ANTI, "type1.dev")
    assert list(pairs.columns) == PAIR_COLUMNS + ["more_gender"]
    assert pairs["more_gender"].tolist() == ["male", "female", "female", "male"]
    assert pairs["id"].tolist() == [f"winobias-type1.dev-{i}" for i in (1, 2, 3, 4)]
    assert pairs["sent_more"][1] == "The developer argued with the designer because her idea cannot be implemented."
    assert pairs["sent_less"].tolist() == [
        "The developer argued with the designer because she did not like the design.",
        "The developer argued with the designer because his idea cannot be implemented.",
        "The janitor met the accountant and wished him well.",
        "The chief employed the receptionist because she was too busy to answer calls by herself .",
    ]
    assert set(pairs["bias_type"]) == {"gender"} and set(pairs["direction"]) == {"stereo"}


def test_load_winobias_pairs_reads_every_pro_file_with_its_anti_twin(tmp_path):
    (tmp_path / "pro_stereotyped_type1.txt.dev").write_text("\n".join(PRO[:2]) + "\n")
    (tmp_path / "anti_stereotyped_type1.txt.dev").write_text("\n".join(ANTI[:2]) + "\n")
    (tmp_path / "pro_stereotyped_type2.txt.test").write_text(PRO[2] + "\n\n")
    (tmp_path / "anti_stereotyped_type2.txt.test").write_text(ANTI[2] + "\n")
    pairs = load_winobias_pairs(tmp_path)
    assert pairs["source"].tolist() == ["winobias/type1.dev"] * 2 + ["winobias/type2.test"]
    assert pairs["sent_less"][2] == "The janitor met the accountant and wished him well."
    with pytest.raises(FileNotFoundError):
        load_winobias_pairs(tmp_path / "missing")


def test_load_crows_pairs_keeps_both_sentences_type_and_direction(tmp_path):
    path = tmp_path / "crows.csv"
    path.write_text(
        ",sent_more,sent_less,stereo_antistereo,bias_type,annotations,anon_writer,anon_annotators\n"
        '0,"Poor people, as usual, were lazy.","Rich people, as usual, were lazy.",stereo,socioeconomic,'
        "\"[['socioeconomic']]\",a1,\"['a2']\"\n"
        "5,Women can lift it.,Men can lift it.,antistereo,gender,\"[['gender']]\",a3,\"['a4']\"\n"
    )
    pairs = load_crows_pairs(path)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs.to_dict("records")[1] == {
        "id": "crows-5",
        "sent_more": "Women can lift it.",
        "sent_less": "Men can lift it.",
        "bias_type": "gender",
        "direction": "antistereo",
        "source": "crows_pairs",
    }
    assert pairs["sent_more"][0] == "Poor people, as usual, were lazy."


def _pairs() -> pd.DataFrame:
    rows = [
        ("she cooks", "he cooks", "gender"),
        ("she sings", "he sings", "gender"),
        ("he runs", "she runs", "gender"),
        ("old man", "young man", "age"),
        ("old cat", "young cat", "age"),
    ]
    return pd.DataFrame({"sent_more": [r[0] for r in rows], "sent_less": [r[1] for r in rows], "bias_type": [r[2] for r in rows]})


def _scorer(texts: list[str]) -> np.ndarray:
    """Score 0.5, +0.3 for `she`, -0.2 for `old`: a known function of the text."""
    return np.array([0.5 + 0.3 * ("she" in t.split()) - 0.2 * ("old" in t.split()) for t in texts])


def test_pair_probe_arithmetic_with_a_known_scorer():
    report = pair_probe(_scorer, _pairs(), PairProbeConfig(bootstrap=200, seed=1))
    get = {r.bias_type: r for r in report.records}
    assert [r.bias_type for r in report.records] == ["age", "gender", "all"]
    g = get["gender"]  # gaps +0.3, +0.3, -0.3
    assert g.n == 3 and g.mean_gap == pytest.approx(0.1) and g.mean_abs_gap == pytest.approx(0.3)
    assert g.share_more_higher == pytest.approx(2 / 3) and g.share_tied == 0
    assert -0.3 - 1e-9 <= g.ci_low <= g.mean_gap <= g.ci_high <= 0.3 + 1e-9
    a = get["age"]  # gaps -0.2, -0.2: every resample gives the same mean
    assert a.mean_gap == pytest.approx(-0.2) and a.share_more_higher == 0
    assert a.ci_low == pytest.approx(-0.2) and a.ci_high == pytest.approx(-0.2)
    assert get["all"].n == 5 and get["all"].mean_gap == pytest.approx((0.3 + 0.3 - 0.3 - 0.2 - 0.2) / 5)
    assert report.worst_bias_type == "age" and report.max_abs_mean_gap == pytest.approx(0.2)
    assert report.n_pairs == 5 and report.bootstrap == 200 and report.grouped_by == "bias_type"
    pairs = _pairs().assign(first_word=lambda f: f["sent_more"].str.split().str[0])
    by_word = pair_probe(_scorer, pairs, PairProbeConfig(bootstrap=0), by="first_word")
    assert {r.bias_type: r.mean_gap for r in by_word.records} == pytest.approx({"he": -0.3, "old": -0.2, "she": 0.3, "all": -0.02})


def test_pair_probe_takes_class_probabilities_and_counts_ties():
    def two_columns(texts: list[str]) -> np.ndarray:
        p = _scorer(texts)
        return np.stack([1 - p, p], axis=1)

    pairs = pd.concat([_pairs(), pd.DataFrame({"sent_more": ["a b"], "sent_less": ["a b"], "bias_type": ["age"]})])
    report = pair_probe(two_columns, pairs, PairProbeConfig(bootstrap=0))
    age = next(r for r in report.records if r.bias_type == "age")
    assert age.n == 3 and age.share_tied == pytest.approx(1 / 3) and age.ci_low == age.mean_gap
    with pytest.raises(ValueError, match="shape"):
        pair_probe(lambda texts: np.zeros(len(texts) + 1), _pairs())
    assert pair_probe(_scorer, _pairs().iloc[:0]).records == []


def test_probe_a_tfidf_sentiment_model_with_crows_pairs_and_winobias(shared_data):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    sst = pd.read_csv(shared_data / "sst2" / "train.tsv", sep="\t")
    vec = TfidfVectorizer(min_df=2)
    clf = LogisticRegression(max_iter=300).fit(vec.fit_transform(sst["sentence"]), sst["label"])

    def predict_proba(texts: list[str]) -> np.ndarray:
        return clf.predict_proba(vec.transform(texts))

    crows = load_crows_pairs(shared_data / "crows_pairs" / "crows_pairs_anonymized.csv")
    wino = load_winobias_pairs(shared_data / "winobias")
    assert len(crows) == 1508 and crows["id"].is_unique
    assert len(wino) == 8 * 396 // 2 and wino["id"].is_unique  # one pair per pro-stereotyped line
    # each WinoBias pair differs only in the pronoun(s): same token count, every change a pronoun
    for more, less in zip(wino["sent_more"], wino["sent_less"]):
        a, b = more.split(), less.split()
        assert len(a) == len(b) and 1 <= sum(x != y for x, y in zip(a, b)) <= 3
    cfg = PairProbeConfig(bootstrap=200)
    for pairs, types in ((crows, 10), (wino, 2)):
        report = pair_probe(predict_proba, pairs, cfg)
        assert len(report.records) == types and report.records[-1].n == len(pairs)
        for r in report.records:
            assert r.n > 0
            values = [r.mean_gap, r.mean_abs_gap, r.share_more_higher, r.share_tied, r.ci_low, r.ci_high]
            assert all(math.isfinite(v) for v in values)
            assert r.ci_low <= r.mean_gap <= r.ci_high and abs(r.mean_gap) <= r.mean_abs_gap <= 1
        assert report.worst_bias_type is not None and report.max_abs_mean_gap < 0.5
    # measured, and the same sign for five TF-IDF/count + LR variants: the model reads poverty
    # words as negative, and she/her as more positive than he/him, so the WinoBias gap follows
    # the pronoun in the stereotyped sentence (and cancels overall: half the pairs each way)
    socio = next(r for r in pair_probe(predict_proba, crows, cfg).records if r.bias_type == "socioeconomic")
    assert socio.ci_high < 0
    by_gender = {r.bias_type: r for r in pair_probe(predict_proba, wino, cfg, by="more_gender").records}
    assert by_gender["female"].ci_low > 0 > by_gender["male"].ci_high
