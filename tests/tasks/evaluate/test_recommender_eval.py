"""Recommender evaluation: hand-computed ranking metrics, exposure Gini/deciles/groups, the gate,
and the popularity and item-kNN baselines on literal examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tasks.evaluate.exposure import ExposureConfig, exposure_gate, exposure_report, gini, popularity_deciles, ranking_metrics
from tasks.evaluate.recommender import compare_rankers, flat_metrics, item_knn_scorer, popularity_scorer, rank_all
from tasks.train.models.rec_data import eval_example


def test_ranking_metrics_hand_computed():
    ranks = np.array([0, 2, 10])
    tops = np.array([[1, 2], [2, 3], [2, 0]])
    metrics = ranking_metrics(ranks, tops, num_items=8, k=10)
    assert metrics["hit_at_10"] == pytest.approx(2 / 3)
    assert metrics["ndcg_at_10"] == pytest.approx((1 + 1 / math.log2(4)) / 3)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 11) / 3)
    assert metrics["coverage_at_10"] == pytest.approx(3 / 8)  # items 1, 2, 3 recommended; 0 is an empty slot


def test_gini_of_exposure():
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 0]) == 0.0
    assert gini([0, 0, 1, 1]) == pytest.approx(0.5)
    assert gini([0, 0, 0, 5]) == pytest.approx(0.75)  # (n - 1) / n: everything to one item


def test_exposure_report_deciles_long_tail_and_groups():
    counts = [50, 40, 30, 20, 10, 9, 8, 7, 6, 5]  # item i + 1 is the (i + 1)-th most popular: decile i + 1
    assert popularity_deciles(counts).tolist() == list(range(1, 11))
    tops = np.array([[1, 2], [1, 10]])  # 4 slots: item 1 twice, 2 once, 10 once
    groups = [["A"], ["A", "B"]] + [["B"]] * 8
    report = exposure_report(tops, counts, groups, ExposureConfig(k=2, head_share=0.2))
    assert report["decile_shares"] == [0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25]
    assert report["long_tail_share"] == pytest.approx(0.25)  # head = items 1 and 2
    assert report["exposure_gini"] == pytest.approx(gini([2, 1, 0, 0, 0, 0, 0, 0, 0, 1]))
    assert report["group_shares"]["A"]["exposure"] == pytest.approx((2 + 0.5) / 4)
    assert report["group_shares"]["B"]["interactions"] == pytest.approx((20 + 95) / 185)


def test_exposure_gate_passes_and_fails_with_reasons():
    report = {"exposure_gini": 0.8, "long_tail_share": 0.05}
    assert exposure_gate(report, ExposureConfig())[0] is True
    passed, reason = exposure_gate(report, ExposureConfig(max_exposure_gini=0.9, min_long_tail_share=0.1))
    assert not passed and reason == "exposure gate failed: long-tail share 0.050 vs minimum 0.1"
    assert exposure_gate(report, ExposureConfig(max_exposure_gini=0.85))[0] is True


def examples(seen: list[list[int]], targets: list[int]) -> list[dict]:
    return [eval_example(s[-3:], s, t) for s, t in zip(seen, targets)]


def test_popularity_baseline_ranks_by_count_without_seen_items():
    counts = [5, 9, 1, 7]  # items 1..4: order 2, 4, 1, 3
    ranks, tops = rank_all(popularity_scorer(counts), examples([[2], [4, 1]], [1, 3]), k=3)
    assert tops.tolist() == [[4, 1, 3], [2, 3, 0]]  # seen items excluded; only 2 unseen items left in row 2
    assert ranks.tolist() == [1.0, 1.0]


def test_item_knn_scores_by_cosine_co_occurrence():
    # users saw {1,2}, {1,2}, {1,3}: cos(1,2) = 2/sqrt(3*2), cos(1,3) = 1/sqrt(3), cos(2,3) = 0
    train = examples([[1, 2], [1, 2], [1, 3]], [4, 4, 4])
    score = item_knn_scorer(train, counts=[3, 2, 1, 0])
    scores = score({"seen": torch.tensor([[2], [3]]), "targets": torch.tensor([1, 1])})
    assert scores[0, 1].item() == pytest.approx(2 / math.sqrt(6), abs=1e-5)
    assert scores[1, 1].item() == pytest.approx(1 / math.sqrt(3), abs=1e-5)
    assert scores[0, 3].item() == pytest.approx(0.0, abs=1e-5)


def test_compare_rankers_logs_baselines_and_lifts():
    test = examples([[1, 2], [1, 2], [1, 3], [2]], [3, 4, 2, 1])
    meta = {"item_counts": [4, 3, 1, 0], "item_groups": [["A"], ["B"], ["A"], ["B"]]}
    perfect = torch.full((4, 5), -1.0)
    perfect[torch.arange(4), torch.tensor([3, 4, 2, 1])] = 1.0
    rows = iter([perfect])
    results = compare_rankers(lambda batch: next(rows), test, meta, ExposureConfig(k=1))
    flat = flat_metrics(results, k=1)
    assert flat["hit_at_1"] == 1.0 and flat["mrr"] == 1.0
    assert flat["baseline_popularity_hit_at_1"] == pytest.approx(0.75)  # user 2's target (item 4) was never seen
    assert flat["lift_hit_at_1_vs_popularity"] == pytest.approx(1 / 0.75)
    assert "baseline_item_knn_coverage_at_1" in flat and "baseline_popularity_exposure_gini" in flat
    from tasks.evaluate.config import EvaluateConfig
    from tasks.train.kinds import reports_metric

    declared = EvaluateConfig(exposure=ExposureConfig(k=1))
    assert [m for m in flat if not reports_metric("lstm_recommender", declared, m)] == []  # declared by the kind
