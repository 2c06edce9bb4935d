import random

import pyarrow as pa
from hypothesis import given, settings, strategies as st

from tasks.clean.config import ExactDedupParams, NearDedupParams
from tasks.clean.dedup import ExactDedup, NearDedup, minhash_matrix, shingle_hashes

BASE = "the quick brown fox jumps over the lazy dog near the river bank on a sunny day in june".split()


def table(rows):
    return pa.table({"id": [r[0] for r in rows], "text": [r[1] for r in rows]})


def decide(step, rows, shards=1):
    t = table(rows)
    size = max(1, -(-t.num_rows // shards))
    return step.decide([step.signatures(t.slice(i, size)) for i in range(0, t.num_rows, size)]).to_pylist()


def test_exact_keeps_smallest_id():
    rows = [("b", "Same text  here"), ("a", "same text here"), ("c", "other"), ("d", "SAME TEXT HERE")]
    assert decide(ExactDedup(ExactDedupParams()), rows) == [
        {"id": "b", "reason": "duplicate", "duplicate_of": "a"},
        {"id": "d", "reason": "duplicate", "duplicate_of": "a"},
    ]


def test_exact_case_sensitive_when_asked():
    assert decide(ExactDedup(ExactDedupParams(casefold=False)), [("a", "Hi there"), ("b", "hi there")]) == []


def test_near_duplicates_clustered():
    near = " ".join(BASE[:-1] + ["july"])
    rows = [("x2", " ".join(BASE)), ("x1", near), ("y", "a completely different sentence about hotels and breakfast quality")]
    assert decide(NearDedup(NearDedupParams()), rows) == [{"id": "x2", "reason": "near_duplicate", "duplicate_of": "x1"}]


def test_near_chinese_character_shingles():
    a = "日前，方舟子发文直指林志颖旗下爱碧丽推销假保健品，引起哗然。调查发现，爱碧丽没有自己的生产加工厂。"
    rows = [("1", a), ("2", a.replace("哗然", "轰动")), ("3", "商务大床房，房间很大，床有2M宽，整体感觉经济实惠不错!")]
    assert [d["id"] for d in decide(NearDedup(NearDedupParams(shingle_size=3)), rows)] == ["2"]


def test_near_threshold_filters_weak_pairs():
    near = " ".join(BASE[:-1] + ["july"])
    rows = [("1", " ".join(BASE)), ("2", near)]
    assert decide(NearDedup(NearDedupParams(threshold=0.99)), rows) == []
    assert len(decide(NearDedup(NearDedupParams(threshold=0.5)), rows)) == 1


def test_minhash_matches_datasketch():
    import datasketch
    import numpy as np

    params = NearDedupParams(num_perm=16, bands=4, shingle_size=2)
    hashes, owner = shingle_hashes(pa.array(["a b c d"]), 2)
    ours, _ = minhash_matrix(hashes, owner, params)
    reference = datasketch.MinHash(num_perm=16, seed=params.seed, hashfunc=lambda v: v)
    reference.update_batch([int(h) for h in hashes])
    assert np.array_equal(ours[0], reference.hashvalues)


def test_empty_text_is_not_a_near_duplicate():
    assert decide(NearDedup(NearDedupParams()), [("1", ""), ("2", "  "), ("3", "!!")]) == []


def _corpus(draw_ids, picks):
    texts = [" ".join(BASE), " ".join(BASE[:-1] + ["july"]), "hotel room was clean", "Hotel room was clean", "房间很大不错，早餐也很好吃"]
    return [(i, texts[p]) for i, p in zip(draw_ids, picks)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=20), st.integers(1, 5), st.randoms())
def test_dedup_independent_of_order_and_shards(picks, shards, rnd):
    rows = _corpus([f"id{i:03d}" for i in range(len(picks))], picks)
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    for step in (ExactDedup(ExactDedupParams()), NearDedup(NearDedupParams())):
        assert decide(step, rows, 1) == decide(step, shuffled, shards)
