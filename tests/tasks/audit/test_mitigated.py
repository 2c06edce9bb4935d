import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import count_shard, merge_counts
from tasks.audit.corpus_report import build_report
from tasks.audit.mitigated import audit_columns, largest_gap, mitigated_markdown, mitigation_headline, train_counterfactuals, train_weights

CFG = AuditConfig(axes=["gender"], min_group_docs=5)


def _with_splits(table: pa.Table) -> pa.Table:
    """Every fifth row is test, the rest train."""
    return table.append_column("split", pa.array(["test" if i % 5 == 0 else "train" for i in range(table.num_rows)]))


def test_audit_columns_keep_id_text_label_and_metadata_group_columns_present():
    cfg = AuditConfig(metadata_groups={"author_gender": "gender", "missing": "age"})
    columns = audit_columns(cfg, ["ts", "label", "text", "author_gender", "id"])
    assert columns == ["id", "text", "label", "author_gender"]


def test_train_weights_cover_train_rows_only_and_equalise_their_weighted_rates(make_corpus):
    table = _with_splits(make_corpus(female_pos=0.8, male_pos=0.3, neutral_pos=0.5))
    weights = train_weights(table, CFG)
    train = table.filter(pc.equal(table["split"], "train"))
    assert weights.column_names == ["id", "weight"] and weights["id"].to_pylist() == train["id"].to_pylist()
    w = weights["weight"].to_numpy()
    labels = np.asarray(train["label"].to_pylist())
    overall = float(np.mean(labels == "pos"))
    for term in ["She ", "He "]:
        mask = pc.starts_with(train["text"], term).to_numpy(zero_copy_only=False)
        assert float((w * (labels == "pos"))[mask].sum() / w[mask].sum()) == pytest.approx(overall, abs=1e-5)


def test_weighted_count_shard_sums_weights_in_label_counts():
    table = pa.table({"id": ["a", "b", "c", "d"], "text": ["she ok", "she bad", "he ok", "x"], "label": ["pos", "neg", "pos", None]})
    counts = count_shard(table, CFG, weights=np.array([0.5, 1.5, 2.0, 3.0]))
    assert counts.total_docs == 4 and counts.labelled_docs == pytest.approx(4.0)
    assert counts.label_docs == {"pos": pytest.approx(2.5), "neg": pytest.approx(1.5)}
    assert counts.group_label_docs["gender/female"] == {"pos": 0.5, "neg": 1.5}
    assert counts.group_docs["gender/female"] == 2  # documents stay unweighted
    plain = count_shard(table, CFG)
    assert plain.label_docs == {"pos": 2, "neg": 1} and isinstance(plain.labelled_docs, int)
    with pytest.raises(ValueError):
        count_shard(table, CFG, weights=np.ones(3))


def test_recomputed_weighted_audit_shows_no_gap_and_the_headline_says_before_and_after(make_corpus):
    table = _with_splits(make_corpus(female_pos=0.8, male_pos=0.3, neutral_pos=0.5))
    before = build_report(count_shard(table, CFG), None, CFG)
    train = table.filter(pc.equal(table["split"], "train"))
    weights = train_weights(table, CFG)["weight"].to_numpy()
    after = build_report(
        merge_counts([count_shard(train.slice(0, 200), CFG, weights=weights[:200]), count_shard(train.slice(200), CFG, weights=weights[200:])]), None, CFG
    )
    worst_before, worst_after = largest_gap(before, CFG), largest_gap(after, CFG)
    assert abs(worst_before.gap) > 0.2
    assert abs(worst_after.gap) < 1e-3 and not worst_after.gap_excludes_zero
    assert all(g.passed for g in after.gates) and not all(g.passed for g in before.gates)
    line = mitigation_headline(before, after, "reweight", CFG)
    assert line.startswith("reweight: largest label-rate gap +0.400 (gender/female, label 'pos') -> +0.000 (")
    assert f"({after.total_docs} docs)" in line and after.total_docs == train.num_rows
    markdown = mitigated_markdown(before, after, "reweight", CFG)
    assert markdown.startswith("# Audit after mitigation: reweight") and line in markdown


def test_counterfactual_copies_only_train_rows_with_pair_terms():
    table = pa.table(
        {
            "id": ["a", "b", "c", "d"],
            "text": ["She is kind.", "He is rude.", "他很好。", "No one."],
            "label": ["1", "0", "1", "0"],
            "split": ["train", "test", "train", "train"],
        }
    )
    copies = train_counterfactuals(table, CFG)
    assert copies.schema == table.schema
    assert copies.to_pylist() == [
        {"id": "a#cf", "text": "He is kind.", "label": "1", "split": "train"},
        {"id": "c#cf", "text": "她很好。", "label": "1", "split": "train"},
    ]


def test_largest_gap_ignores_groups_below_the_minimum_size():
    table = pa.table(
        {
            "id": [str(i) for i in range(12)],
            "text": ["she"] * 3 + ["he"] * 5 + ["x"] * 4,
            "label": ["pos"] * 3 + ["pos", "neg", "pos", "neg", "neg"] + ["neg", "pos", "neg", "neg"],
        }
    )
    report = build_report(count_shard(table, CFG), None, CFG)
    worst = largest_gap(report, CFG)
    assert worst.group == "male" and largest_gap(report, CFG.model_copy(update={"min_group_docs": 50})) is None
