"""Ranking quality and exposure fairness of top-k recommendation lists (plain numpy).

Ranking: HR@k, NDCG@k, MRR from the target's 0-based rank in a full ranking (seen items excluded);
catalogue coverage = share of the catalogue that appears in at least one top-k list.
Exposure: each top-k slot is one unit of exposure. Reported: the Gini coefficient of exposure over
every catalogue item (0 = all items equally exposed, -> 1 = all slots go to one item), the share
of slots per item popularity decile (decile 1 = the 10 % most interacted-with items), the long-tail
share (slots going to items outside the `head_share` most popular ones), and per item group (e.g.
genre) its share of slots next to its share of interactions (an item in several groups counts
1/len(groups) for each).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class ExposureConfig(BaseModel):
    """YAML `evaluate.exposure`: the list length and the exposure gate of a recommender (limits are
    off when null; a failed limit keeps the model from `champion` like the other model gates)."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=10, ge=1, description="length of the recommendation lists measured")
    head_share: float = Field(default=0.2, gt=0, lt=1, description="most popular share of items that is the 'head'; the rest is the long tail")
    max_exposure_gini: float | None = Field(default=None, ge=0, le=1, description="gate: highest allowed Gini of exposure")
    min_long_tail_share: float | None = Field(default=None, ge=0, le=1, description="gate: lowest allowed share of slots on long-tail items")


def ranking_metrics(ranks: np.ndarray, tops: np.ndarray, num_items: int, k: int = 10) -> dict[str, float]:
    """0-based target ranks `[n]` and top-k item indices `[n, k]` (1-based items) -> `hit_at_<k>`,
    `ndcg_at_<k>`, `mrr` and `coverage_at_<k>` (distinct recommended items / `num_items`)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if len(ranks) == 0:
        return {f"hit_at_{k}": float("nan"), f"ndcg_at_{k}": float("nan"), "mrr": float("nan"), f"coverage_at_{k}": 0.0}
    hit = ranks < k
    return {
        f"hit_at_{k}": float(hit.mean()),
        f"ndcg_at_{k}": float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()),
        "mrr": float((1.0 / (ranks + 1.0)).mean()),
        f"coverage_at_{k}": float(len(np.unique(tops[tops > 0])) / max(num_items, 1)),
    }


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 when all equal or all zero)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return 0.0
    return float((2.0 * np.sum(np.arange(1, n + 1) * x)) / (n * total) - (n + 1.0) / n)


def popularity_deciles(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    """Interaction counts per item -> decile per item, 1 (most popular tenth) .. 10 (ties by position)."""
    counts = np.asarray(counts, dtype=np.float64)
    order = np.argsort(-counts, kind="stable")
    deciles = np.empty(len(counts), dtype=np.int64)
    deciles[order] = np.arange(len(counts)) * 10 // max(len(counts), 1) + 1
    return deciles


def exposure_report(tops: np.ndarray, counts: Sequence[float], groups: Sequence[Sequence[str]], cfg: ExposureConfig) -> dict:
    """Top-k lists `[n, k]` of 1-based item indices (0 = empty slot) + training interactions per
    item + groups per item -> `exposure_gini`, `long_tail_share`, `decile_shares` (10 values),
    `group_shares` ({group: {exposure, interactions}})."""
    counts = np.asarray(counts, dtype=np.float64)
    n_items = len(counts)
    slots = tops[tops > 0] - 1
    exposure = np.bincount(slots, minlength=n_items).astype(np.float64)
    total = max(exposure.sum(), 1.0)
    deciles = popularity_deciles(counts)
    head = np.zeros(n_items, dtype=bool)
    head[np.argsort(-counts, kind="stable")[: int(np.ceil(n_items * cfg.head_share))]] = True
    group_exposure: dict[str, float] = {}
    group_interactions: dict[str, float] = {}
    for i, item_groups in enumerate(groups):
        for g in item_groups:
            group_exposure[g] = group_exposure.get(g, 0.0) + exposure[i] / len(item_groups)
            group_interactions[g] = group_interactions.get(g, 0.0) + counts[i] / len(item_groups)
    all_interactions = max(counts.sum(), 1.0)
    return {
        "exposure_gini": gini(exposure),
        "long_tail_share": float(exposure[~head].sum() / total),
        "decile_shares": [float(exposure[deciles == d].sum() / total) for d in range(1, 11)],
        "group_shares": {g: {"exposure": group_exposure[g] / total, "interactions": group_interactions[g] / all_interactions} for g in sorted(group_exposure)},
    }


def exposure_gate(report: dict, cfg: ExposureConfig) -> tuple[bool, str]:
    """The exposure limits of `cfg` checked on an `exposure_report` -> (passed, reason)."""
    checks = []
    if cfg.max_exposure_gini is not None:
        ok = report["exposure_gini"] <= cfg.max_exposure_gini
        checks.append((ok, f"exposure Gini {report['exposure_gini']:.3f} vs limit {cfg.max_exposure_gini:g}"))
    if cfg.min_long_tail_share is not None:
        ok = report["long_tail_share"] >= cfg.min_long_tail_share
        checks.append((ok, f"long-tail share {report['long_tail_share']:.3f} vs minimum {cfg.min_long_tail_share:g}"))
    if not checks:
        return (True, f"no exposure limits set (exposure Gini {report['exposure_gini']:.3f}, long-tail share {report['long_tail_share']:.3f})")
    failed = [text for ok, text in checks if not ok]
    return not failed, ("exposure gate failed: " + "; ".join(failed)) if failed else "; ".join(text for _, text in checks)
