"""Next-item recommender trained as GRU4Rec+/SASRec are: an LSTM over the user's item history
predicts the next item at EVERY position, with a full softmax over the catalogue (or a sampled
softmax with logQ correction for large ones), whole-item dropout on the histories and early
stopping on validation NDCG@10 (leave-last-out, full ranking, seen items excluded).

An item's vector is its id embedding plus, with `text_features`, the mean of its text's token
embeddings (so an item seen rarely or never in training still scores by its words); the same
vectors embed the history and score the output (tied), plus a per-item bias.
Data preparation: `rec_data.py`.
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
from tasks.train.models.rec_data import eval_example, id_key, item_groups, item_tokens, leave_last_out, user_sequences

PAD = 0


class RecommenderConfig(BaseModel):
    """YAML `models.<name>` with `kind: lstm_recommender`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lstm_recommender"] = "lstm_recommender"
    embedding_dim: int = Field(default=64, ge=1)
    hidden_size: int = Field(default=128, ge=1)
    num_layers: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1, description="dropout on the item vectors and the LSTM output")
    history_dropout: float = Field(default=0.0, ge=0, lt=1, description="training: probability of dropping a whole history item")
    max_history: int = Field(default=50, ge=1, description="most recent items fed to the LSTM (training windows and prediction)")
    text_features: bool = Field(default=False, description="add the mean token embedding of the item's text to its id embedding")
    max_item_tokens: int = Field(default=32, ge=1, description="tokens of an item's text used by text_features")
    loss: Literal["full", "sampled"] = Field(default="full", description="softmax over every item, or over sampled negatives with logQ correction")
    num_negatives: int = Field(default=512, ge=1, description="sampled loss: negatives per batch (drawn by training popularity)")
    top_k: int = Field(default=10, ge=1, description="items returned per prediction row")
    train: TrainConfig = Field(default_factory=TrainConfig)


class LSTMRecommender(nn.Module):
    """Histories `[B, T]` of item indices (0 = padding) -> user vectors per position, and scores
    `[B, num_items + 1]` at each row's last item (padding column always -inf)."""

    def __init__(
        self, num_items: int, cfg: RecommenderConfig, vocab_size: int = 0, tokens: list[list[int]] | None = None, counts: list[float] | None = None
    ) -> None:
        super().__init__()
        self.item_embedding = nn.Embedding(num_items + 1, cfg.embedding_dim, padding_idx=PAD)
        self.token_embedding: nn.Embedding | None = None
        if cfg.text_features and tokens is not None and vocab_size > 0:
            self.token_embedding = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=PAD)
            nn.init.normal_(self.token_embedding.weight, std=0.02)
            self.register_buffer("item_tokens", pad_ids([torch.tensor(t or [PAD], dtype=torch.long) for t in tokens])[0], persistent=False)
        self.lstm = nn.LSTM(cfg.embedding_dim, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(cfg.dropout)
        self.history_dropout = cfg.history_dropout
        self.proj = nn.Linear(cfg.hidden_size, cfg.embedding_dim)
        self.item_bias = nn.Parameter(torch.zeros(num_items + 1))
        self.num_negatives = cfg.num_negatives if cfg.loss == "sampled" else 0
        q = torch.tensor([0.0] + [float(c) + 1.0 for c in (counts or [0.0] * num_items)])
        self.register_buffer("sample_q", q / q.sum(), persistent=False)  # sampled loss: P(item), +1 smoothed

    def item_vectors(self) -> Tensor:
        """`[num_items + 1, dim]`: id embedding (+ mean token embedding of the item text)."""
        vectors = self.item_embedding.weight
        if self.token_embedding is not None:
            ids = self.item_tokens
            mask = (ids != PAD).unsqueeze(-1).to(vectors.dtype)
            text = (self.token_embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            vectors = vectors + text
        return vectors

    def states(self, history: Tensor, vectors: Tensor) -> Tensor:
        """User vectors `[B, T, dim]` after each history position (causal: position t sees items <= t)."""
        x = F.embedding(history, vectors)
        if self.training and self.history_dropout > 0:
            keep = torch.rand(x.shape[:2], device=x.device) >= self.history_dropout
            x = x * keep.unsqueeze(-1).to(x.dtype) / (1.0 - self.history_dropout)
        output, _ = self.lstm(self.dropout(x))
        return self.proj(self.dropout(output))

    def score(self, users: Tensor, vectors: Tensor) -> Tensor:
        """User vectors `[..., dim]` -> scores over every item `[..., num_items + 1]` (padding -inf)."""
        scores = F.linear(users, vectors, self.item_bias).float()
        scores[..., PAD] = float("-inf")
        return scores

    def forward(self, history: Tensor, lengths: Tensor) -> Tensor:
        vectors = self.item_vectors()
        # one direction is causal: the output at each row's last item equals the packed run's
        # h_n, without the slower packed kernel (padding comes after it and is never read)
        states = self.states(history, vectors)
        last = states[torch.arange(len(states), device=states.device), lengths.to(states.device) - 1]
        return self.score(last, vectors)


def mask_seen(scores: Tensor, seen: Tensor) -> Tensor:
    """Scores `[B, N]` -> the same with every seen item (and padding) of the row set to -inf."""
    return scores.scatter(1, seen, float("-inf"))


def rank_metrics(scores: Tensor, targets: Tensor) -> dict[str, Tensor]:
    """Scores `[B, N]` and target indices `[B]` -> per-row `rank` (0 = top; ties count against the
    target), `hit_at_1`, `hit_at_10`, `ndcg_at_10` and reciprocal rank `rr` (all float `[B]`)."""
    target_scores = scores.gather(1, targets.unsqueeze(1))
    rank = (scores >= target_scores).sum(1).float() - 1.0
    return {
        "rank": rank,
        "hit_at_1": (rank < 1).float(),
        "hit_at_10": (rank < 10).float(),
        "ndcg_at_10": torch.where(rank < 10, 1.0 / torch.log2(rank + 2.0), torch.zeros_like(rank)),
        "rr": 1.0 / (rank + 1.0),
    }


def sampled_loss(model: LSTMRecommender, users: Tensor, targets: Tensor, vectors: Tensor, k: int) -> Tensor:
    """Sampled softmax with logQ correction: the target against `k` negatives drawn by training
    popularity (shared by the batch), every logit minus log Q(item); accidental hits masked."""
    negatives = torch.multinomial(model.sample_q, k, replacement=True)
    log_q = torch.log(model.sample_q * k)
    pos = (users * vectors[targets]).sum(-1) + model.item_bias[targets] - log_q[targets]
    neg = users @ vectors[negatives].T + model.item_bias[negatives] - log_q[negatives]
    neg = neg.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
    logits = torch.cat([pos.unsqueeze(1), neg], 1).float()
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


class RecommenderPredictor(BatchPredictor):
    """`user_id` and/or `history` (item ids, most recent last) -> `items` (top_k item ids not in
    the history), `scores` (their probabilities; popularity shares on fallback) and `fallback`
    (True when no known history item was available and popularity was used). Without `history`
    the user's stored history is used; `recommend` also appends new items to it."""

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
            return [id_key(item) for item in history]
        user = row.get("user_id")
        return [] if pd.api.types.is_scalar(user) and pd.isna(user) else list(self.user_history.get(id_key(user), []))

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
            masked = mask_seen(probs, full)
            k = min(self.top_k, masked.shape[1] - 1)
            top = masked.topk(k, dim=1)
            for row, values, indices in zip(known, top.values.cpu().tolist(), top.indices.cpu().tolist()):
                kept = [(v, i) for v, i in zip(values, indices) if v != float("-inf")]
                items[row] = [self.items[i - 1] for _, i in kept]
                scores[row] = [float(v) for v, _ in kept]
        return pd.DataFrame({"items": items, "scores": scores, "fallback": [not h for h in histories]})

    def recommend(self, users: list[str], new_items: list[list[str]]) -> pd.DataFrame:
        """Users + the items each interacted with since training (oldest first) -> top-k over the
        stored history followed by the new items, every one of them excluded."""
        histories = [self.user_history.get(id_key(u), []) + [id_key(i) for i in new] for u, new in zip(users, new_items)]
        return self.predict(pd.DataFrame({"user_id": [id_key(u) for u in users], "history": histories}))


class RecommenderKind(ModelKind[RecommenderConfig]):
    """`lstm_recommender`: next-item prediction over user interaction sequences (leave-last-out)."""

    name = "lstm_recommender"
    config_class = RecommenderConfig
    monitor = "ndcg_at_10"
    mode = "max"

    @classmethod
    def test_metrics(cls, evaluate: Any) -> tuple[str, ...]:
        """Ranking (at `evaluate.exposure.k`) and exposure metrics: the model's, each baseline ranker's
        (`baseline_<ranker>_<m>`), and the model's lift over each (`lift_<m>_vs_<ranker>`)."""
        k, rankers = evaluate.exposure.k, ("popularity", "item_knn")
        own = (f"hit_at_{k}", f"ndcg_at_{k}", "mrr", f"coverage_at_{k}", "hit_at_1", "exposure_gini", "long_tail_share")
        return own + tuple(f"baseline_{b}_{m}" for b in rankers for m in own) + tuple(f"lift_{m}_vs_{b}" for b in rankers for m in own[:3])

    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: RecommenderConfig) -> Prepared:
        """Interactions table -> training windows and validation/test ranking examples (`rec_data`).
        meta: `items` (item ids; index i + 1), `item_counts` (interactions per item before each
        user's test item, aligned with `items`), `user_history` (each user's full item list),
        `item_tokens` (text token ids per item index), `item_groups` (groups per item)."""
        missing = {"user_id", "item_id"} - set(tokens.column_names)
        if missing:
            raise ValueError(f"lstm_recommender needs the columns {sorted(missing)} in the tokens table")
        sequences = user_sequences(tokens)
        items = sorted({item for seq in sequences.values() for item in seq})
        index = {item: i + 1 for i, item in enumerate(items)}
        counts = [0] * len(items)
        splits: dict[str, list[Any]] = {"train": [], "validation": [], "test": []}
        for user, seq in sequences.items():
            indices = [index[i] for i in seq]
            for i in indices[:-1]:
                counts[i - 1] += 1
            parts = leave_last_out(indices, cfg.max_history)
            splits["train"] += [{"inputs": torch.tensor(x, dtype=torch.long), "targets": torch.tensor(y, dtype=torch.long)} for x, y in parts["train"]]
            for split in ("validation", "test"):
                splits[split] += [eval_example(*example) | {"user": user} for example in parts[split]]
        meta = {
            "items": items,
            "item_counts": counts,
            "user_history": sequences,
            "item_tokens": item_tokens(tokens, index, cfg.max_item_tokens) if cfg.text_features else [],
            "item_groups": item_groups(tokens, index),
        }
        return Prepared(splits=splits, meta=meta)

    def build(self, cfg: RecommenderConfig, meta: dict[str, Any], vocab_size: int) -> nn.Module:
        """Item embeddings sized by `meta["items"]`; the text vocabulary sizes the token embedding."""
        return LSTMRecommender(len(meta["items"]), cfg, vocab_size, meta.get("item_tokens") or None, meta.get("item_counts"))

    def example_length(self, example: Any) -> int:
        return len(example["inputs"] if "inputs" in example else example["history"])

    def collate(self, examples: list[Any]) -> dict[str, Tensor]:
        if "inputs" in examples[0]:
            inputs, lengths = pad_ids([e["inputs"] for e in examples], PAD)
            return {"history": inputs, "lengths": lengths, "targets": pad_ids([e["targets"] for e in examples], PAD)[0]}
        history, lengths = pad_ids([e["history"] for e in examples], PAD)
        return {
            "history": history,
            "lengths": lengths,
            "seen": pad_ids([e["seen"] for e in examples], PAD)[0],
            "targets": torch.tensor([e["target"] for e in examples]),
        }

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Cross-entropy of the next item at every non-padding position: over all items (`full`)
        or over sampled negatives with logQ correction (`sampled`)."""
        vectors = model.item_vectors()
        targets = batch["targets"]
        valid = targets != PAD
        users = model.states(batch["history"], vectors)[valid]
        wanted = targets[valid]
        if model.num_negatives:
            return sampled_loss(model, users, wanted, vectors, model.num_negatives), int(valid.sum())
        return F.cross_entropy(model.score(users, vectors), wanted), int(valid.sum())

    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Tensor]]) -> dict[str, float]:
        """-> `hit_at_1`, `hit_at_10`, `ndcg_at_10`, `mrr` (seen items excluded from the full
        ranking) and `loss` (cross-entropy of the target over all items, without exclusion)."""
        sums = {"hit_at_1": 0.0, "hit_at_10": 0.0, "ndcg_at_10": 0.0, "rr": 0.0, "loss": 0.0}
        n = 0
        for batch in batches:
            scores = model(batch["history"], batch["lengths"])
            sums["loss"] += float(F.cross_entropy(scores, batch["targets"], reduction="sum"))
            for name, values in rank_metrics(mask_seen(scores, batch["seen"]), batch["targets"]).items():
                if name in sums:
                    sums[name] += float(values.sum())
            n += len(scores)
        metrics = {name: (value / n if n else float("nan")) for name, value in sums.items()}
        metrics["mrr"] = metrics.pop("rr")
        return metrics

    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: RecommenderConfig) -> RecommenderPredictor:
        return RecommenderPredictor(model, meta, cfg)
