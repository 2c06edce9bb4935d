"""Evaluate stage of `lstm_recommender`: the model and two baselines ranked on the same test users.

Protocol (SASRec's, with full ranking): each user's last interaction is the test target, ranked
against EVERY catalogue item, the items the user has already seen excluded. The same examples are
scored by
- `popularity`: items by their number of interactions before the test items (ties by item order);
- `item_knn`: item-item cosine over user co-occurrence (binary user x item matrix of every
  interaction before the test items), a user's score of an item = sum of its similarities to the
  user's history items (ties broken by popularity).
Metrics (`tasks/evaluate/exposure.py`): HR@k, NDCG@k, MRR, coverage, exposure Gini, long-tail
share, per popularity decile and per item group; the model's exposure feeds the gate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import torch
from matplotlib.figure import Figure
from torch import Tensor

from tasks.evaluate.evaluator import EvalContext, KindEvaluator, KindResult
from tasks.evaluate.exposure import ExposureConfig, exposure_gate, exposure_report, ranking_metrics
from tasks.train.models.lstm_recommender import RecommenderKind, mask_seen, rank_metrics

Scorer = Callable[[dict[str, Tensor]], Tensor]
BASELINES = ("popularity", "item_knn")
HEADLINE = ("hit_at_10", "ndcg_at_10", "mrr", "coverage_at_10", "exposure_gini", "long_tail_share")


def popularity_scorer(counts: list[float]) -> Scorer:
    """Every user gets the items' interaction counts (float64, ties broken by item index)."""
    base = torch.tensor([0.0] + [float(c) for c in counts], dtype=torch.float64)
    base = base - torch.arange(len(base), dtype=torch.float64) * 1e-9
    base[0] = float("-inf")
    return lambda batch: base.expand(len(batch["targets"]), -1).clone()


def seen_matrix(examples: list[dict[str, Any]], num_items: int) -> sp.csr_matrix:
    """Binary users x (num_items + 1) matrix of the examples' seen items."""
    rows = np.concatenate([np.full(len(e["seen"]), r) for r, e in enumerate(examples)]) if examples else np.zeros(0)
    cols = np.concatenate([e["seen"].numpy() for e in examples]) if examples else np.zeros(0)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(examples), num_items + 1))
    matrix.data[:] = 1.0  # an item seen twice counts once
    return matrix


def item_knn_scorer(examples: list[dict[str, Any]], counts: list[float]) -> Scorer:
    """Item-item cosine similarity from the examples' seen items; scores = history x similarity."""
    num_items = len(counts)
    users = seen_matrix(examples, num_items)
    co = (users.T @ users).tocsr()
    norms = np.sqrt(np.maximum(co.diagonal(), 1.0))
    similarity = sp.diags(1.0 / norms) @ co @ sp.diags(1.0 / norms)
    similarity.setdiag(0.0)
    similarity = similarity.tocsr()
    tiebreak = torch.tensor([0.0] + [float(c) for c in counts], dtype=torch.float64)
    tiebreak = 1e-6 * tiebreak / max(float(tiebreak.max()), 1.0)

    def score(batch: dict[str, Tensor]) -> Tensor:
        history = seen_matrix([{"seen": s[s > 0]} for s in batch["seen"]], num_items)
        scores = torch.from_numpy(np.asarray((history @ similarity).todense(), dtype=np.float64)) + tiebreak
        scores[:, 0] = float("-inf")
        return scores

    return score


def rank_all(score: Scorer, examples: list[dict[str, Any]], k: int, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Examples -> 0-based target ranks `[n]` and top-k item indices `[n, k]` (0 where fewer
    unseen items remain), seen items excluded."""
    kind = RecommenderKind()
    ranks, tops = [], []
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            batch = kind.collate(examples[start : start + batch_size])
            masked = mask_seen(score(batch), batch["seen"])
            ranks.append(rank_metrics(masked, batch["targets"])["rank"].numpy())
            top = masked.topk(min(k, masked.shape[1]), dim=1)
            tops.append(torch.where(torch.isinf(top.values), 0, top.indices).numpy())
    if not ranks:
        return np.zeros(0), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(ranks), np.concatenate(tops)


def compare_rankers(model_score: Scorer, examples: list[dict[str, Any]], meta: dict[str, Any], cfg: ExposureConfig) -> dict[str, dict[str, Any]]:
    """Model, popularity and item-kNN on the same examples -> per ranker: ranking metrics, exposure
    report, and the `ranks`/`tops` arrays."""
    counts = meta["item_counts"]
    groups = meta.get("item_groups") or [[] for _ in counts]
    scorers = {"model": model_score, "popularity": popularity_scorer(counts), "item_knn": item_knn_scorer(examples, counts)}
    out = {}
    for name, scorer in scorers.items():
        ranks, tops = rank_all(scorer, examples, cfg.k)
        metrics = ranking_metrics(ranks, tops, len(counts), cfg.k)
        metrics["hit_at_1"] = float((ranks < 1).mean()) if len(ranks) else float("nan")
        out[name] = {"metrics": metrics, "exposure": exposure_report(tops, counts, groups, cfg), "ranks": ranks, "tops": tops}
    return out


def flat_metrics(results: dict[str, dict[str, Any]], k: int) -> dict[str, float]:
    """Scalars for MLflow and promotion: the model's (`hit_at_10`, ...), each baseline's as
    `baseline_<name>_<metric>`, and `lift_<metric>_vs_<baseline>` = model / baseline."""

    def scalars(result: dict[str, Any]) -> dict[str, float]:
        return {**result["metrics"], "exposure_gini": result["exposure"]["exposure_gini"], "long_tail_share": result["exposure"]["long_tail_share"]}

    model = scalars(results["model"])
    flat = dict(model)
    for name in BASELINES:
        base = scalars(results[name])
        flat.update({f"baseline_{name}_{key}": value for key, value in base.items()})
        for key in (f"hit_at_{k}", f"ndcg_at_{k}", "mrr"):
            if base[key] > 0:
                flat[f"lift_{key}_vs_{name}"] = model[key] / base[key]
    return flat


def report_markdown(results: dict[str, dict[str, Any]], flat: dict[str, float], gate: tuple[bool, str], k: int, n: int) -> str:
    """The evaluate report of a recommender: model vs baselines, exposure by decile and group."""
    keys = [f"hit_at_{k}", f"ndcg_at_{k}", "mrr", f"coverage_at_{k}"]
    lines = [f"# Recommender test evaluation ({n} users, leave-last-out, full ranking, seen items excluded)", ""]
    lift = flat.get(f"lift_hit_at_{k}_vs_popularity")
    if lift is not None:
        lines += [f"HR@{k}: model beats popularity by {lift:.2f}x and item-kNN by {flat.get(f'lift_hit_at_{k}_vs_item_knn', float('nan')):.2f}x.", ""]
    lines += [f"| ranker | HR@{k} | NDCG@{k} | MRR | coverage@{k} | exposure Gini | long-tail share |", "|---|---|---|---|---|---|---|"]
    for name, result in results.items():
        m, e = result["metrics"], result["exposure"]
        lines.append(f"| {name} | " + " | ".join(f"{m[key]:.4f}" for key in keys) + f" | {e['exposure_gini']:.4f} | {e['long_tail_share']:.4f} |")
    lines += [
        "",
        f"Exposure gate: {'passed' if gate[0] else '**failed**'}: {gate[1]}",
        "",
        "Share of top-k slots by item popularity decile (1 = most popular tenth of the items):",
        "",
        "| ranker | " + " | ".join(str(d) for d in range(1, 11)) + " |",
        "|---" * 11 + "|",
    ]
    for name, result in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{s:.3f}" for s in result["exposure"]["decile_shares"]) + " |")
    groups = results["model"]["exposure"]["group_shares"]
    if groups:
        lines += [
            "",
            "Share of top-k slots by item group (vs the group's share of interactions):",
            "",
            "| group | interactions | " + " | ".join(results) + " |",
            "|---" * (2 + len(results)) + "|",
        ]
        for g, shares in groups.items():
            row = [f"{results[name]['exposure']['group_shares'].get(g, {}).get('exposure', 0.0):.3f}" for name in results]
            lines.append(f"| {g} | {shares['interactions']:.3f} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_deciles(results: dict[str, dict[str, Any]], path: Path) -> Path:
    """Bar chart of the slot share per popularity decile, one bar group per ranker -> PNG."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    width = 0.8 / len(results)
    for i, (name, result) in enumerate(results.items()):
        ax.bar(np.arange(1, 11) + (i - (len(results) - 1) / 2) * width, result["exposure"]["decile_shares"], width, label=name)
    ax.set_xlabel("item popularity decile (1 = most popular)")
    ax.set_ylabel("share of top-k slots")
    ax.set_xticks(range(1, 11))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def evaluate_recommender(
    model: torch.nn.Module, prepared_test: list[dict[str, Any]], meta: dict[str, Any], cfg: ExposureConfig, out_dir: Path
) -> dict[str, Any]:
    """A trained recommender + its test examples and meta -> `metrics` (flat), `passed`/`reason`
    (exposure gate), `report` (JSON-able), `predictions` (per test user), `files` (report.md, plot)."""
    device = next(model.parameters()).device
    model.eval()

    def model_score(batch: dict[str, Tensor]) -> Tensor:
        return model(batch["history"].to(device), batch["lengths"]).cpu()

    results = compare_rankers(model_score, prepared_test, meta, cfg)
    flat = flat_metrics(results, cfg.k)
    gate = exposure_gate(results["model"]["exposure"], cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = report_markdown(results, flat, gate, cfg.k, len(prepared_test))
    (out_dir / "recommender_report.md").write_text(markdown, encoding="utf-8")
    files = [out_dir / "recommender_report.md", plot_deciles(results, out_dir / "exposure_deciles.png")]
    items = meta["items"]
    model_result = results["model"]
    predictions = pa.table(
        {
            "user_id": [str(e.get("user", "")) for e in prepared_test],
            "target": [items[int(e["target"]) - 1] for e in prepared_test],
            "rank": pa.array(model_result["ranks"].astype(np.int64)),
            "top_items": [[items[i - 1] for i in row if i > 0] for row in model_result["tops"].tolist()],
        }
    )
    report = {
        "exposure": {name: r["exposure"] for name, r in results.items()},
        "ranking": {name: r["metrics"] for name, r in results.items()},
        "summary": markdown,
    }
    headline = {key: flat[key] for key in HEADLINE if key in flat}
    return {"metrics": {**headline, **flat}, "passed": gate[0], "reason": gate[1], "report": report, "predictions": predictions, "files": files}


class RecommenderEvaluator(KindEvaluator):
    """`lstm_recommender`: full ranking vs the popularity and item-kNN rankers, exposure gate;
    the pyfunc takes `user_id` + `history` (item ids, oldest first)."""

    kind = RecommenderKind.name
    input_columns = ("id", "user_id", "item_id", "ts")

    def evaluate(self, ctx: EvalContext) -> KindResult:
        """Context -> ranking and exposure metrics of the model and baselines, the exposure gate's verdict."""
        prepared = ctx.prepared
        result = evaluate_recommender(ctx.device_model(), prepared.splits["test"], prepared.meta, ctx.job.evaluate.exposure, ctx.plot_dir)
        return KindResult(
            metrics=result["metrics"],
            predictions=result["predictions"],
            passed=result["passed"],
            reason=result["reason"],
            model_audit=result["report"],
            plots=result["files"],
        )

    def input_example(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Two users' last five items, from interaction rows (`user_id`, `item_id`, `ts`, `id`)."""
        users = rows.sort_values(["user_id", "ts", "id"]).groupby("user_id")["item_id"].apply(list).head(2)
        return pd.DataFrame({"user_id": [str(u) for u in users.index], "history": [list(map(str, h[-5:])) for h in users]})
