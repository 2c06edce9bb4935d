import pyarrow as pa
from hypothesis import given, settings, strategies as st

from tasks.clean.dedup import ExactDedupParams, NearDedupParams
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


def _reference_near(signatures, params):
    """The decision as it was computed before it went column by column (all bands and ids held at once)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    table = pa.concat_tables(signatures).sort_by("id")
    n, ids = table.num_rows, table.column("id").to_pylist()
    src, dst = [], []
    for band in range(params.bands):
        keys = table.column(f"band_{band}").to_numpy()
        order = np.lexsort((np.arange(n), keys))
        starts = np.r_[True, keys[order][1:] != keys[order][:-1]]
        first = order[np.maximum.accumulate(np.where(starts, np.arange(n), 0))]
        src.append(first[~starts])
        dst.append(order[~starts])
    src, dst = np.concatenate(src), np.concatenate(dst)
    if params.threshold is not None and len(src):
        minhash = table.column("minhash").combine_chunks().flatten().to_numpy().reshape(n, params.num_perm)
        ok = (minhash[src] == minhash[dst]).mean(axis=1) >= params.threshold
        src, dst = src[ok], dst[ok]
    _, label = connected_components(coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)), directed=False)
    first = {}
    for i, component in enumerate(label):
        first.setdefault(component, i)
    return [{"id": ids[i], "reason": "near_duplicate", "duplicate_of": ids[first[c]]} for i, c in enumerate(label) if first[c] != i]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.integers(1, 4), st.sampled_from([None, 0.3, 0.8]), st.randoms())
def test_near_decision_unchanged_and_same_from_parquet_parts(tmp_path_factory, picks, shards, threshold, rnd):
    """Band-by-band decision == the all-at-once reference; from Parquet parts == from tables."""
    import pyarrow.parquet as pq

    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    texts = [" ".join(words[p:] + words[:p]) if p < 3 else " ".join(words[:-1] + [words[p]]) for p in range(6)]
    rows = [(f"id{rnd.randrange(10**6):06d}-{i}", texts[p]) for i, p in enumerate(picks)]
    step = NearDedup(NearDedupParams(num_perm=32, bands=8, shingle_size=2, threshold=threshold))
    t = table(rows)
    size = max(1, -(-t.num_rows // shards))
    sigs = [step.signatures(t.slice(i, size)) for i in range(0, t.num_rows, size)]
    expected = _reference_near(sigs, step.params)
    assert step.decide(sigs).to_pylist() == expected
    folder = tmp_path_factory.mktemp("sigs")
    uris = []
    for j, s in enumerate(sigs):
        pq.write_table(s, folder / f"part-{j}.parquet")
        uris.append(str(folder / f"part-{j}.parquet"))
    assert step.decide_parts(uris).to_pylist() == expected
    exact = ExactDedup(ExactDedupParams())
    esigs = [exact.signatures(t.slice(i, size)) for i in range(0, t.num_rows, size)]
    for j, s in enumerate(esigs):
        pq.write_table(s, folder / f"e-{j}.parquet")
    assert exact.decide_parts([str(folder / f"e-{j}.parquet") for j in range(len(esigs))]).to_pylist() == exact.decide(esigs).to_pylist()
