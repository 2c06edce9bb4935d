"""Next-item recommender: item embedding -> LSTM over the packed history -> dot product with the
(tied) item embeddings + item bias -> a score per item.

Data: one tokens row per interaction (`user_id`, `item_id`, `ts`, `id`, ...). Each user's items
are ordered by (`ts`, `id`); leave-one-out gives the splits: the last item is the user's `test`
target, the second last the `validation` target, and every earlier item a `train` target with the
up to `max_history` items before it as history. The tokenize stage's own `split` column is not
used. Item index 0 is padding; item `i` of `meta["items"]` has index `i + 1`.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Tokenizer
from torch import Tensor, nn

from tasks.train.batching import pad_ids
from tasks.train.config import TrainConfig
from tasks.train.kind import BatchPredictor, ModelKind, Prepared

PAD = 0


class RecommenderConfig(BaseModel):
    """YAML `models.<name>` with `kind: lstm_recommender`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lstm_recommender"] = "lstm_recommender"
    embedding_dim: int = Field(default=64, ge=1)
    hidden_size: int = Field(default=128, ge=1)
    num_layers: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    max_history: int = Field(default=50, ge=1, description="most recent items fed to the LSTM (training and prediction)")
    top_k: int = Field(default=10, ge=1, description="items returned per prediction row")
    train: TrainConfig = Field(default_factory=TrainConfig)


def user_sequences(tokens: pa.Table) -> dict[str, list[str]]:
    """Interactions table (`user_id`, `item_id`, `ts`, `id`) -> each user's item ids (as strings)
    in chronological order (ties broken by `id`); users keep their first-seen order."""
    keys = [("ts", "ascending")] if "ts" in tokens.column_names else []
    keys = keys + ([("id", "ascending")] if "id" in tokens.column_names else [])
    ordered = tokens.select(["user_id", "item_id"] + [k for k, _ in keys]).sort_by(keys) if keys else tokens
    sequences: dict[str, list[str]] = {}
    for user, item in zip(ordered["user_id"].to_pylist(), ordered["item_id"].to_pylist()):
        if user is not None and item is not None:
            sequences.setdefault(_key(user), []).append(_key(item))
    return sequences


def leave_one_out(sequence: list[int], max_history: int) -> dict[str, list[tuple[list[int], int]]]:
    """One user's item sequence -> `(history, target)` pairs per split: last item -> `test`,
    second last -> `validation`, each earlier item (from the second on) -> `train`; histories are
    the up to `max_history` items right before the target."""
    pairs: dict[str, list[tuple[list[int], int]]] = {"train": [], "validation": [], "test": []}
    n = len(sequence)
    for t in range(1, n):
        split = "test" if t == n - 1 else "validation" if t == n - 2 else "train"
        pairs[split].append((sequence[max(0, t - max_history) : t], sequence[t]))
    return pairs


def _key(value: Any) -> str:
    """A user or item id as the string used in meta (`196`, `196.0` and `"196"` are the same)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class LSTMRecommender(nn.Module):
    """Histories `[B, T]` of item indices (0 = padding) + lengths `[B]` -> scores `[B, num_items + 1]`
    (index 0, padding, is always -inf)."""

    def __init__(self, num_items: int, cfg: RecommenderConfig) -> None:
        super().__init__()
        self.item_embedding = nn.Embedding(num_items + 1, cfg.embedding_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(
            cfg.embedding_dim, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(cfg.hidden_size, cfg.embedding_dim)
        self.item_bias = nn.Parameter(torch.zeros(num_items + 1))

    def forward(self, history: Tensor, lengths: Tensor) -> Tensor:
        x = self.dropout(self.item_embedding(history))
        # one direction is causal: the output at each row's last item equals the packed run's h_n,
        # without the slower packed kernel (padding comes after it and is never read)
        output, _ = self.lstm(x)
        last = output[torch.arange(len(output), device=output.device), lengths.to(output.device) - 1]
        user = self.proj(self.dropout(last))
        scores = F.linear(user, self.item_embedding.weight, self.item_bias).float()
        scores[:, PAD] = float("-inf")
        return scores


def mask_history(scores: Tensor, history: Tensor) -> Tensor:
    """Scores `[B, N]` -> the same with every item in the row's history (and padding) set to -inf."""
    return scores.scatter(1, history, float("-inf"))


def rank_metrics(scores: Tensor, targets: Tensor) -> dict[str, Tensor]:
    """Scores `[B, N]` and target indices `[B]` -> per-row `rank` (0 = top), `hit_at_1`,
    `hit_at_10`, `ndcg_at_10` and reciprocal rank `rr` (all float `[B]`)."""
    target_scores = scores.gather(1, targets.unsqueeze(1))
    rank = (scores > target_scores).sum(1).float()
    return {
        "rank": rank,
        "hit_at_1": (rank < 1).float(),
        "hit_at_10": (rank < 10).float(),
        "ndcg_at_10": torch.where(rank < 10, 1.0 / torch.log2(rank + 2.0), torch.zeros_like(rank)),
        "rr": 1.0 / (rank + 1.0),
    }


class RecommenderPredictor(BatchPredictor):
    """`user_id` and/or `history` (item ids, most recent last) -> `items` (top_k item ids not in
    the history), `scores` (their probabilities; popularity shares on fallback) and `fallback`
    (True when no known history item was available and popularity was used)."""

    def __init__(self, model: nn.Module, meta: dict[str, Any], cfg: RecommenderConfig, batch_rows: int = 256) -> None:
        super().__init__(model, batch_rows)
        self.items: list[str] = list(meta["items"])
        self.index = {item: i + 1 for i, item in enumerate(self.items)}
        self.user_history: dict[str, list[str]] = meta["user_history"]
        counts = np.asarray(meta["item_counts"], dtype=np.float64)
        self.popular = np.argsort(-counts, kind="stable") + 1  # item indices, most popular first
        self.popularity = counts / max(counts.sum(), 1.0)
        self.max_history = cfg.max_history
        self.top_k = cfg.top_k

    def history_of(self, row: dict[str, Any]) -> list[str]:
        """An input row -> its history item ids: the `history` value when non-empty, else the
        user's stored history (empty for unknown users)."""
        history = row.get("history")
        if not pd.api.types.is_scalar(history) and len(history):  # None, NaN and pd.NA are scalars
            return [_key(item) for item in history]
        user = row.get("user_id")
        return [] if pd.api.types.is_scalar(user) and pd.isna(user) else list(self.user_history.get(_key(user), []))

    def fallback(self, seen: set[int]) -> tuple[list[str], list[float]]:
        """Most popular items not in `seen` -> (item ids, popularity shares)."""
        picked = [int(i) for i in self.popular if int(i) not in seen][: self.top_k]
        return [self.items[i - 1] for i in picked], [float(self.popularity[i - 1]) for i in picked]

    def predict_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        histories = [[self.index[i] for i in self.history_of(row) if i in self.index] for row in df.to_dict("records")]
        known = [r for r, h in enumerate(histories) if h]
        items: list[list[str]] = [[] for _ in histories]
        scores: list[list[float]] = [[] for _ in histories]
        for r, h in enumerate(histories):
            if not h:
                items[r], scores[r] = self.fallback(set())
        if known:
            seqs = [torch.tensor(histories[r][-self.max_history :], dtype=torch.long) for r in known]
            ids, lengths = pad_ids(seqs)
            probs = torch.softmax(self.model(ids.to(self.device), lengths), dim=-1)
            full = pad_ids([torch.tensor(histories[r], dtype=torch.long) for r in known])[0].to(self.device)
            masked = mask_history(probs, full)
            k = min(self.top_k, masked.shape[1] - 1)
            top = masked.topk(k, dim=1)
            for row, values, indices in zip(known, top.values.cpu().tolist(), top.indices.cpu().tolist()):
                kept = [(v, i) for v, i in zip(values, indices) if v != float("-inf")]
                items[row] = [self.items[i - 1] for _, i in kept]
                scores[row] = [float(v) for v, _ in kept]
        return pd.DataFrame({"items": items, "scores": scores, "fallback": [not h for h in histories]})


class RecommenderKind(ModelKind[RecommenderConfig]):
    """`lstm_recommender`: leave-one-out next-item prediction over user interaction sequences."""

    name = "lstm_recommender"
    config_class = RecommenderConfig
    monitor = "ndcg_at_10"
    mode = "max"

    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: RecommenderConfig) -> Prepared:
        """Interactions table -> `{"history", "target"}` examples per split (leave-one-out).
        meta: `items` (item ids; index i + 1), `item_counts` (training-target counts per item,
        aligned with `items`), `user_history` (each user's last `max_history` item ids)."""
        missing = {"user_id", "item_id"} - set(tokens.column_names)
        if missing:
            raise ValueError(f"lstm_recommender needs the columns {sorted(missing)} in the tokens table")
        sequences = user_sequences(tokens)
        items = sorted({item for seq in sequences.values() for item in seq})
        index = {item: i + 1 for i, item in enumerate(items)}
        counts = [0] * len(items)
        splits: dict[str, list[Any]] = {"train": [], "validation": [], "test": []}
        for seq in sequences.values():
            for split, pairs in leave_one_out([index[i] for i in seq], cfg.max_history).items():
                for history, target in pairs:
                    splits[split].append({"history": torch.tensor(history, dtype=torch.long), "target": target})
                    counts[target - 1] += split == "train"
        meta = {
            "items": items,
            "item_counts": counts,
            "user_history": {user: seq[-cfg.max_history :] for user, seq in sequences.items()},
        }
        return Prepared(splits=splits, meta=meta)

    def build(self, cfg: RecommenderConfig, meta: dict[str, Any], vocab_size: int) -> nn.Module:
        """Item embeddings are sized by `meta["items"]`; the text vocabulary size is not used."""
        return LSTMRecommender(len(meta["items"]), cfg)

    def example_length(self, example: Any) -> int:
        return len(example["history"])

    def collate(self, examples: list[Any]) -> dict[str, Tensor]:
        history, lengths = pad_ids([e["history"] for e in examples], PAD)
        return {"history": history, "lengths": lengths, "targets": torch.tensor([e["target"] for e in examples])}

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Cross-entropy of the target item over all items."""
        scores = model(batch["history"], batch["lengths"])
        return F.cross_entropy(scores, batch["targets"]), int(batch["lengths"].sum())

    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Tensor]]) -> dict[str, float]:
        """-> `hit_at_1`, `hit_at_10`, `ndcg_at_10`, `mrr` (history items excluded from the
        ranking, as in prediction) and `loss` (cross-entropy without exclusion)."""
        sums = {"hit_at_1": 0.0, "hit_at_10": 0.0, "ndcg_at_10": 0.0, "rr": 0.0, "loss": 0.0}
        n = 0
        for batch in batches:
            scores = model(batch["history"], batch["lengths"])
            sums["loss"] += float(F.cross_entropy(scores, batch["targets"], reduction="sum"))
            for name, values in rank_metrics(mask_history(scores, batch["history"]), batch["targets"]).items():
                if name in sums:
                    sums[name] += float(values.sum())
            n += len(scores)
        metrics = {name: (value / n if n else float("nan")) for name, value in sums.items()}
        metrics["mrr"] = metrics.pop("rr")
        return metrics

    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: RecommenderConfig) -> RecommenderPredictor:
        return RecommenderPredictor(model, meta, cfg)


def popularity_metrics(prepared: Prepared, split: str = "validation") -> dict[str, float]:
    """Baseline: rank every item by its training count (history items excluded) -> the same
    `hit_at_10`, `ndcg_at_10`, `mrr` as `RecommenderKind.evaluate` on `split`."""
    examples = prepared.splits[split]
    if not examples:
        return {"hit_at_10": float("nan"), "ndcg_at_10": float("nan"), "mrr": float("nan")}
    counts = torch.tensor([0.0] + [float(c) for c in prepared.meta["item_counts"]], dtype=torch.float64)
    counts[PAD] = float("-inf")
    base = counts - torch.arange(len(counts), dtype=torch.float64) * 1e-6  # ties broken by index, as in prediction
    batch = RecommenderKind().collate(examples)
    scores = mask_history(base.expand(len(examples), -1).clone(), batch["history"])
    values = rank_metrics(scores, batch["targets"])
    return {"hit_at_10": float(values["hit_at_10"].mean()), "ndcg_at_10": float(values["ndcg_at_10"].mean()), "mrr": float(values["rr"].mean())}
