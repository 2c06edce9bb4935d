"""Next-token LSTM language model with tied input/output embeddings; reports perplexity.

Trained on contiguous token streams cut into windows of `seq_len + 1` ids (`stream: true`,
documents joined by the tokenizer's end/separator token when it has one), or on one sequence per
document (`stream: false`, cut to `max_length`). Its `embedding.*` and `lstm.*` weights can start
an `lstm_classifier` (ULMFiT): see that module for the shape constraint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Tokenizer
from torch import Tensor, nn

from tasks.train.batching import pad_ids, token_tensors
from tasks.train.config import TrainConfig
from tasks.train.kind import SPLITS, BatchPredictor, ModelKind, Prepared, baseline_metric_names

SEPARATOR_TOKENS = ("</s>", "<|endoftext|>", "[SEP]", "[EOS]", "<eos>", "<sep>")
IGNORE = -100


class LanguageModelConfig(BaseModel):
    """YAML `models.<name>` with `kind: lstm_lm`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lstm_lm"] = "lstm_lm"
    embedding_dim: int = Field(default=128, ge=1)
    hidden_size: int = Field(default=128, ge=1, description="!= embedding_dim adds a projection before the tied output layer")
    num_layers: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.2, ge=0, lt=1)
    stream: bool = Field(default=True, description="train on contiguous windows (true) or per-document sequences (false)")
    seq_len: int = Field(default=64, ge=2, description="window length in stream mode")
    max_length: int = Field(default=256, ge=2, description="tokens kept per document (per-document mode and prediction)")
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(lr=3e-3))


class LSTMLanguageModel(nn.Module):
    """Token ids `[B, T]` (+ optional lengths `[B]`) -> next-token logits `[B, T, vocab]`."""

    def __init__(self, vocab_size: int, cfg: LanguageModelConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, cfg.embedding_dim)
        self.lstm = nn.LSTM(cfg.embedding_dim, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(cfg.hidden_size, cfg.embedding_dim) if cfg.hidden_size != cfg.embedding_dim else nn.Identity()
        self.out_bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, input_ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Right-padded ids -> logits; the LSTM is causal, so logits before each row's length
        never see its padding (`lengths` is accepted for symmetry and not needed)."""
        out, _ = self.lstm(self.dropout(self.embedding(input_ids)))
        return F.linear(self.proj(self.dropout(out)), self.embedding.weight, self.out_bias)


def _shift(batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """Batch -> (inputs `[B, T-1]`, their lengths, targets `[B, T-1]` with padding = IGNORE)."""
    ids, lengths = batch["input_ids"], batch["lengths"]
    inputs, targets = ids[:, :-1], ids[:, 1:].clone()
    in_lengths = (lengths - 1).clamp_min(1)
    positions = torch.arange(targets.shape[1], device=ids.device)
    targets[positions.unsqueeze(0) >= (lengths - 1).to(ids.device).unsqueeze(1)] = IGNORE
    return inputs, in_lengths, targets


def _nll(model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """-> (per-token negative log-likelihood `[B, T-1]`, 0 at padding; target mask)."""
    inputs, in_lengths, targets = _shift(batch)
    logits = model(inputs, in_lengths).float()
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
    return nll, targets != IGNORE


class LanguageModelPredictor(BatchPredictor):
    """`text` column -> `perplexity` of each text under the model (NaN below two tokens)."""

    def __init__(self, model: nn.Module, tokenizer: Tokenizer, max_length: int, batch_rows: int = 256) -> None:
        super().__init__(model, batch_rows)
        self.tokenizer = tokenizer
        self.max_length = max_length

    def predict_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        if not len(df):
            return pd.DataFrame({"perplexity": np.zeros(0)})
        encodings = self.tokenizer.encode_batch([t if isinstance(t, str) else "" for t in df["text"].tolist()], add_special_tokens=False)
        seqs = [torch.tensor(e.ids[: self.max_length], dtype=torch.long) for e in encodings]
        scored = [i for i, s in enumerate(seqs) if len(s) >= 2]
        result = np.full(len(seqs), np.nan)
        if scored:
            ids, lengths = pad_ids([seqs[i] for i in scored])
            nll, mask = _nll(self.model, {"input_ids": ids.to(self.device), "lengths": lengths})
            per_text = (nll.sum(1) / mask.sum(1)).exp().cpu().numpy()
            result[scored] = per_text
        return pd.DataFrame({"perplexity": result})


class LanguageModelKind(ModelKind[LanguageModelConfig]):
    """`lstm_lm`: unlabelled; uses `input_ids` and `split` only (labels and weights are ignored)."""

    name = "lstm_lm"
    config_class = LanguageModelConfig
    monitor = "perplexity"
    mode = "min"
    TEST_METRICS = ("perplexity", "loss")

    @classmethod
    def test_metrics(cls, evaluate: Any) -> tuple[str, ...]:
        """Test perplexity and loss, and unless `evaluate.baseline` is none the Kneser-Ney baseline's
        `baseline_<m>` / `gain_over_baseline_<m>`."""
        return cls.TEST_METRICS + baseline_metric_names(cls.TEST_METRICS, evaluate)

    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: LanguageModelConfig) -> Prepared:
        """Tokens table -> `{"input_ids"}` examples per split (windows or documents).
        meta: `separator_id` (int or null)."""
        separator = next((tokenizer.token_to_id(t) for t in SEPARATOR_TOKENS if tokenizer.token_to_id(t) is not None), None)
        splits: dict[str, list[Any]] = {}
        for split in SPLITS:
            part = tokens.filter(pc.equal(tokens["split"], split))
            if cfg.stream:
                docs = token_tensors(part["input_ids"])
                if separator is not None:
                    sep = torch.tensor([separator], dtype=torch.long)
                    docs = [piece for doc in docs for piece in (doc, sep)]
                stream = torch.cat(docs) if docs else torch.zeros(0, dtype=torch.long)
                if len(stream) < cfg.seq_len + 1:
                    windows = [stream] if len(stream) >= 2 else []
                else:
                    windows = list(stream.unfold(0, cfg.seq_len + 1, cfg.seq_len))
            else:
                windows = [d for d in token_tensors(part["input_ids"], cfg.max_length + 1) if len(d) >= 2]
            splits[split] = [{"input_ids": w} for w in windows]
        return Prepared(splits=splits, meta={"separator_id": separator})

    def build(self, cfg: LanguageModelConfig, meta: dict[str, Any], vocab_size: int) -> nn.Module:
        return LSTMLanguageModel(vocab_size, cfg)

    def collate(self, examples: list[Any]) -> dict[str, Tensor]:
        ids, lengths = pad_ids([e["input_ids"] for e in examples])
        return {"input_ids": ids, "lengths": lengths}

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        nll, mask = _nll(model, batch)
        count = mask.sum()
        return nll.sum() / count.clamp_min(1), int(count)

    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Tensor]]) -> dict[str, float]:
        """-> `perplexity` (exp of mean token NLL) and `loss` (mean token NLL)."""
        total, count = 0.0, 0
        for batch in batches:
            nll, mask = _nll(model, batch)
            total += float(nll.sum())
            count += int(mask.sum())
        loss = total / count if count else float("nan")
        return {"perplexity": math.exp(min(loss, 50.0)) if count else float("nan"), "loss": loss}

    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: LanguageModelConfig) -> LanguageModelPredictor:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return LanguageModelPredictor(model, tokenizer, cfg.max_length)
