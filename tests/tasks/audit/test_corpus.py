import json

import pyarrow as pa
import pytest

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import AuditCounts, count_quarantine, count_shard, merge_counts, merge_filter_counts
from tasks.audit.corpus_report import build_report

CFG = AuditConfig(axes=["gender"], npmi_min_count=3)


def test_merge_of_shards_equals_counts_of_whole(make_corpus):
    table = make_corpus(female_pos=0.8)
    whole = count_shard(table, CFG)
    parts = [count_shard(table.slice(i, 100), CFG) for i in range(0, table.num_rows, 100)]
    merged = merge_counts(parts, vocab_size=CFG.npmi_vocab_size)
    assert merged == whole
    assert whole.total_docs == 600 and whole.group_docs["gender/female"] == 200
    assert whole.group_label_docs["gender/female"] == {"pos": 160, "neg": 40}
    assert AuditCounts.model_validate(json.loads(whole.model_dump_json())) == whole


def test_planted_skew_is_flagged(make_corpus):
    report = build_report(count_shard(make_corpus(female_pos=0.8), CFG), None, CFG)
    female_pos = next(r for r in report.groups if r.group == "female" and r.label == "pos")
    assert female_pos.label_rate == pytest.approx(0.8)
    assert female_pos.rest_rate == pytest.approx(0.5)
    assert female_pos.gap == pytest.approx(0.3)
    assert female_pos.gap_excludes_zero and female_pos.gap_ci_low > 0.2
    gate = report.gates[0]
    assert not gate.passed and gate.group == "female" and gate.value == pytest.approx(0.3)
    assert "gender/female" in report.flagged[0]


def test_clean_corpus_is_not_flagged(make_corpus):
    report = build_report(count_shard(make_corpus(), CFG), None, CFG)
    assert all(not r.gap_excludes_zero for r in report.groups)
    assert all(g.passed for g in report.gates) and report.flagged == []


def test_unlabelled_corpus_gives_label_less_records(make_corpus):
    table = make_corpus().drop_columns(["label"]).append_column("label", pa.nulls(600, pa.string()))
    report = build_report(count_shard(table, CFG), None, CFG)
    assert report.labelled_docs == 0
    assert {(r.group, r.docs, r.label, r.label_rate) for r in report.groups} == {("female", 200, None, None), ("male", 200, None, None)}


def test_npmi_lists_words_tied_to_a_group():
    table = pa.table(
        {
            "id": [str(i) for i in range(40)],
            "text": ["She loves knitting." if i < 10 else ("He went out." if i < 20 else "A day out.") for i in range(40)],
            "label": ["x"] * 40,
        }
    )
    report = build_report(count_shard(table, CFG), None, CFG)
    female = [r for r in report.npmi if r.group == "female"]
    assert female[0].word in {"knitting", "loves"} and female[0].npmi == pytest.approx(1.0)
    assert all(r.word != "she" for r in female)


def test_filter_impact_of_a_step_removing_one_group_more(make_corpus):
    clean = make_corpus()  # 200 female, 200 male, 200 neutral kept
    quarantine = pa.table(
        {
            "id": [f"q{i}" for i in range(60)],
            "text": ["She was here." if i < 40 else "He was here." if i < 50 else "Nobody." for i in range(60)],
            "step": ["blocklist"] * 50 + ["min_length"] * 10,
            "reason": ["x"] * 60,
        }
    )
    filters = merge_filter_counts([count_quarantine(quarantine.slice(0, 30), CFG), count_quarantine(quarantine.slice(30), CFG)])
    assert filters.step_docs == {"blocklist": 50, "min_length": 10}
    report = build_report(count_shard(clean, CFG), filters, CFG)
    rec = {(r.step, r.group): r for r in report.filter_impact}
    assert rec[("blocklist", "female")].removed_rate == pytest.approx(40 / 240, abs=1e-4)
    assert rec[("blocklist", "female")].overall_removed_rate == pytest.approx(50 / 660, abs=1e-4)
    assert rec[("blocklist", "male")].removed_rate == pytest.approx(10 / 210, abs=1e-4)
    gate = next(g for g in report.gates if g.metric == "max_filter_impact_ratio")
    assert not gate.passed and gate.group == "female" and "blocklist" in gate.message
