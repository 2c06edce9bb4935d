import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks.audit.config import AuditConfig
from tasks.audit.mitigate import counterfactual_augment, reweight_weights

CFG = AuditConfig(axes=["gender", "religion"], min_group_docs=5)


def _weighted_rate(weights: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> float:
    return float((weights * (labels == "pos"))[mask].sum() / weights[mask].sum())


def test_reweighting_equalises_weighted_label_rates_across_overlapping_groups(make_corpus):
    base = make_corpus(female_pos=0.8, male_pos=0.3, neutral_pos=0.5)
    extra = pa.table(
        {
            "id": [f"x{i}" for i in range(40)],
            "text": ["She met a muslim friend." if i < 20 else "A muslim friend came." for i in range(40)],
            "label": ["pos" if i % 4 == 0 else "neg" for i in range(40)],
        }
    )
    table = pa.concat_tables([base, extra])
    weights = reweight_weights(table, CFG).to_numpy()
    assert weights.dtype == np.float32 and weights.mean() == pytest.approx(1.0, abs=1e-5)
    labels = np.asarray(table.column("label").to_pylist())
    text = table.column("text")
    overall = float(np.mean(labels == "pos"))
    for term in ["She", "He", "muslim"]:
        mask = pc.match_substring(text, term).to_numpy(zero_copy_only=False)
        assert _weighted_rate(weights, labels, mask) == pytest.approx(overall, abs=1e-5)
    rest = ~pc.match_substring_regex(text, "She|He|muslim").to_numpy(zero_copy_only=False)
    assert _weighted_rate(weights, labels, rest) == pytest.approx(overall, abs=1e-5)
    before = float(np.mean(labels[pc.match_substring(text, "She").to_numpy(zero_copy_only=False)] == "pos"))
    assert before > overall + 0.1  # the skew was real


def test_unlabelled_rows_weigh_one():
    table = pa.table({"id": ["a", "b"], "text": ["she", "he"], "label": pa.nulls(2, pa.string())})
    assert reweight_weights(table, CFG).to_pylist() == [1.0, 1.0]


def test_counterfactual_swaps_both_directions_in_english_and_chinese():
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": ["He told his sister: she is the King.", "她是我的妈妈，他是爸爸。", "No people here."],
            "label": ["1", "0", "1"],
            "ts": [1, 2, 3],
        }
    )
    out = counterfactual_augment(table, CFG)
    assert out.num_rows == 5
    rows = {r["id"]: r for r in out.to_pylist()}
    assert rows["a#cf"]["text"] == "She told her brother: he is the Queen."
    assert rows["b#cf"]["text"] == "他是我的爸爸，她是妈妈。"
    assert rows["a#cf"]["label"] == "1" and rows["b#cf"]["ts"] == 2
    assert "c#cf" not in rows and len(set(out.column("id").to_pylist())) == 5
    twice = counterfactual_augment(out.slice(3), CFG)  # swapping the copy gives back the original
    assert twice.column("text").to_pylist()[2:] == ["He told his sister: she is the King.", "她是我的妈妈，他是爸爸。"]
