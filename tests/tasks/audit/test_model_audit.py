import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tasks.audit.config import AuditConfig, ModelAuditConfig
from tasks.audit.model_audit import auc, counterfactual_probe, model_audit, model_gate

CFG = AuditConfig(axes=["gender"], model=ModelAuditConfig(bootstrap=30, min_group_size=10))


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores informative for group a, pure noise for group b."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    in_b = np.arange(n) % 2 == 1
    score = np.where(in_b, rng.random(n), np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.1, n), 0, 1))
    ids = [f"r{i}" for i in range(n)]
    frame = pd.DataFrame({"id": ids, "y_true": y, "y_pred": (score > 0.5).astype(int), "y_score": score})
    groups = pd.DataFrame({"id": ids, "axis": "gender", "group": np.where(in_b, "b", "a")})
    return frame, groups


def test_auc_matches_sklearn_with_ties():
    y = np.array([0, 1, 1, 0, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.4, 0.4, 0.9, 0.2, 0.3])
    assert auc(y.astype(bool), s) == pytest.approx(roc_auc_score(y, s))
    assert auc(np.ones(3, dtype=bool), s[:3]) is None


def test_model_audit_finds_the_group_the_model_fails():
    frame, groups = _frame()
    report = model_audit(frame, groups, CFG)
    get = {(r.group, r.metric): r for r in report.records}
    assert get[("a", "subgroup_auc")].value > 0.95
    assert 0.35 < get[("b", "subgroup_auc")].value < 0.65
    b = get[("b", "bpsn_auc")]
    assert b.ci_low <= b.value <= b.ci_high
    assert get[("a", "accuracy")].value > get[("b", "accuracy")].value
    assert report.positive_label == "1" and report.binary
    assert report.worst.startswith("gender/b") and report.max_subgroup_auc_gap > 0.2
    ok, reason = model_gate(report, None, CFG)
    assert not ok and "gender/b" in reason and "limit 0.1" in reason


def test_counterfactual_probe_measures_a_biased_scorer():
    def biased(texts: list[str]) -> np.ndarray:
        return np.array([0.9 if ("woman" in t or "sister" in t or "mother" in t or "girl" in t or "wife" in t or "lady" in t) else 0.5 for t in texts])

    probe = counterfactual_probe(biased, CFG)
    en = next(a for a in probe.axes if a.language == "en" and a.axis == "gender")
    assert en.mean_gap == pytest.approx(0.4) and en.high_group == "female"
    zh = next(a for a in probe.axes if a.language == "zh")
    assert zh.mean_gap == pytest.approx(0.0)
    fair = counterfactual_probe(lambda texts: np.tile([[0.3, 0.7]], (len(texts), 1)), CFG)
    assert fair.max_mean_gap == pytest.approx(0.0)
    frame, groups = _frame()
    frame["y_score"] = frame["y_true"].astype(float)  # perfect scorer
    ok, reason = model_gate(model_audit(frame, groups, CFG), probe, CFG)
    assert not ok and "counterfactual gap 0.400" in reason and "female > male" in reason
    ok, reason = model_gate(model_audit(frame, groups, CFG), fair, CFG)
    assert ok and reason.startswith("promoted")


def test_eec_with_a_logistic_regression_sentiment_model(shared_data):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    sst = pd.read_csv(shared_data / "sst2" / "train.tsv", sep="\t")
    vec = TfidfVectorizer(min_df=2)
    clf = LogisticRegression(max_iter=300).fit(vec.fit_transform(sst["sentence"]), sst["label"])

    def predict_proba(texts: list[str]) -> np.ndarray:
        return clf.predict_proba(vec.transform([t.lower() for t in texts]))

    eec = pd.read_csv(shared_data / "eec" / "Equity-Evaluation-Corpus.csv")
    eec = eec[eec["Emotion"].notna()].reset_index(drop=True)
    proba = predict_proba(eec["Sentence"].tolist())[:, 1]
    frame = pd.DataFrame({"id": eec["ID"], "y_true": (eec["Emotion"] == "joy").astype(int), "y_pred": (proba > 0.5).astype(int), "y_score": proba})
    groups = pd.concat(
        [
            pd.DataFrame({"id": eec["ID"], "axis": "gender", "group": eec["Gender"]}),
            pd.DataFrame({"id": eec["ID"], "axis": "race_ethnicity", "group": eec["Race"]}).dropna(),
        ]
    )
    cfg = AuditConfig(axes=["gender", "race_ethnicity"], model=ModelAuditConfig(bootstrap=20))
    report = model_audit(frame, groups, cfg)
    aucs = {(r.axis, r.group): r for r in report.records if r.metric == "subgroup_auc"}
    assert set(aucs) == {("overall", "all"), ("gender", "female"), ("gender", "male"), ("race_ethnicity", "African-American"), ("race_ethnicity", "European")}
    assert aucs[("gender", "female")].n == aucs[("gender", "male")].n == 4200
    assert aucs[("overall", "all")].value > 0.6  # joy vs other emotions, from SST-2 words (measured 0.64)
    assert report.max_subgroup_auc_gap is not None and report.max_subgroup_auc_gap < 0.2
    # the probe: EEC's own templates (emotion word filled in), people as the {term}
    templates = sorted(
        {
            t.replace("<emotion word>", w).replace("<person subject>", "{term}").replace("<person object>", "{term}")
            for t, w in zip(eec["Template"], eec["Emotion word"])
        }
    )[:30]
    cfg.model.templates = {"en": templates}
    probe = counterfactual_probe(predict_proba, cfg)
    gender = next(a for a in probe.axes if a.axis == "gender")
    assert 0.0 <= gender.mean_gap <= gender.worst_gap < 0.5
    assert {g.group for g in probe.groups if g.axis == "race_ethnicity"} >= {"black", "white"}
