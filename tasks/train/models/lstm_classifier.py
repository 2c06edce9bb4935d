"""The origin document's text classifier: embedding -> LSTM over packed sequences -> dropout -> linear.

Padding is never read: a unidirectional LSTM runs over the padded batch, which gives the packed
outputs at every real position (it is causal); a bidirectional one runs over
`pack_padded_sequence` on CUDA/MPS and, on CPU where the packed kernel is 2-3x slower, as dense
runs with the reverse direction reading each row reversed within its length
(`padded_lstm.padded_bidirectional`, equal to the packed outputs); pooling then ignores
positions past each length.

ULMFiT-style start: `pretrained_lm` names an `lstm_lm` bundle trained with the SAME tokenizer;
its `embedding.*` and `lstm.*` weights initialise this model, so `embedding_dim`, `hidden_size`
and `num_layers` must equal the LM's and `bidirectional` must be false (the LM reads left to
right). Fine-tuning then uses discriminative learning rates (`lr_decay_per_layer`) and/or
gradual unfreezing (`unfreeze_schedule`); both also work without a pretrained LM.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from safetensors.torch import load_file
from sklearn.metrics import f1_score
from tokenizers import Tokenizer
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tasks.common.pretrained import init_pretrained_embedding
from tasks.train.batching import pad_ids, token_tensors
from tasks.train.config import TrainConfig
from tasks.train.distill import DistillConfig, attach_teacher, distill_losses
from tasks.train.kind import SPLITS, BatchPredictor, ModelKind, Prepared, baseline_metric_names
from tasks.train.models.padded_lstm import padded_bidirectional


class ClassifierConfig(BaseModel):
    """YAML `models.<name>` with `kind: lstm_classifier`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lstm_classifier"] = "lstm_classifier"
    embedding_dim: int = Field(default=128, ge=1)
    hidden_size: int = Field(default=128, ge=1)
    num_layers: int = Field(default=1, ge=1)
    bidirectional: bool = True
    dropout: float = Field(default=0.3, ge=0, lt=1)
    pooling: Literal["last", "mean", "max"] = "max"
    max_length: int = Field(default=256, ge=1, description="tokens kept per text (training and prediction)")
    pretrained_lm: str | None = Field(default=None, description="folder of an lstm_lm bundle to start from")
    embedding_init: Literal["random", "pretrained"] = Field(
        default="random",
        description="pretrained: start the embedding from `pretrained_name`'s input embeddings "
        "(needs `tokenize: {kind: pretrained, name: <same>}`; projected by PCA when embedding_dim is smaller)",
    )
    pretrained_name: str = Field(default="all-minilm-l6-v2", description="packaged model of embedding_init: pretrained")
    lr_decay_per_layer: float = Field(default=1.0, gt=0, le=1, description="lr factor per layer group below the head (ULMFiT: 1/2.6)")
    unfreeze_schedule: list[int] | None = Field(
        default=None,
        description="epoch at which each layer group below the head starts training, top first "
        "(LSTM layers top-down, then the embedding); groups not listed stay frozen; null: all train",
    )
    distill: DistillConfig | None = Field(default=None, description="knowledge distillation from a fine-tuned MiniLM teacher (tasks/train/distill.py)")
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _distill_alone(self) -> ClassifierConfig:
        if self.distill is not None and self.pretrained_lm is not None:
            raise ValueError("distill and pretrained_lm cannot be combined")
        return self


class LSTMClassifier(nn.Module):
    """Token ids `[B, T]` + lengths `[B]` -> class logits `[B, num_classes]`; padding never read."""

    def __init__(self, vocab_size: int, num_classes: int, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.pooling = cfg.pooling
        self.bidirectional = cfg.bidirectional
        self.embedding = nn.Embedding(vocab_size, cfg.embedding_dim)
        self.lstm = nn.LSTM(
            cfg.embedding_dim,
            cfg.hidden_size,
            num_layers=cfg.num_layers,
            batch_first=True,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size * (2 if cfg.bidirectional else 1), num_classes)

    def forward(self, input_ids: Tensor, lengths: Tensor) -> Tensor:
        embedded = self.dropout(self.embedding(input_ids))
        if self.bidirectional and embedded.device.type == "cpu":
            output = padded_bidirectional(self.lstm, embedded, lengths)
            if self.pooling == "last":
                # the forward half ends at each row's last token, the reverse half at position 0
                half = output.shape[-1] // 2
                last = output[torch.arange(len(output)), lengths - 1, :half]
                return self.head(self.dropout(torch.cat([last, output[:, 0, half:]], dim=-1)))
        elif self.bidirectional:
            packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            packed_out, (h_n, _) = self.lstm(packed)
            if self.pooling == "last":
                return self.head(self.dropout(torch.cat([h_n[-2], h_n[-1]], dim=-1)))
            output, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=input_ids.shape[1])
        else:
            # One direction is causal: outputs before a row's length never see its padding, so
            # the padded run equals the packed one there, and avoids the slower packed CPU kernel.
            output, _ = self.lstm(embedded)
        return self.head(self.dropout(self._pool(output, lengths.to(output.device))))

    def _pool(self, output: Tensor, lengths: Tensor) -> Tensor:
        """`[B, T, H]` outputs (garbage at and after each length) -> `[B, H]` by `pooling`."""
        if self.pooling == "last":
            return output[torch.arange(len(output), device=output.device), lengths - 1]
        valid = (torch.arange(output.shape[1], device=output.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
        if self.pooling == "max":
            return output.masked_fill(~valid, float("-inf")).max(dim=1).values
        return (output * valid).sum(dim=1) / lengths.to(output.dtype).unsqueeze(1)


def _nonempty(ids: Tensor) -> Tensor:
    """An empty token sequence becomes one id 0, so packing (which needs length >= 1) works."""
    return ids if len(ids) else torch.zeros(1, dtype=torch.long)


class ClassifierPredictor(BatchPredictor):
    """`text` column of raw text -> `label`, `score` (its probability) and `prob_<class>` columns.

    Each chunk is tokenised with one `encode_batch`, sorted by length and cut into forward
    batches of `forward_rows` rows, each padded only to its own longest row (one int64 numpy
    array filled through a mask, no per-row tensors); probabilities go back in input order."""

    def __init__(self, model: nn.Module, labels: list[str], tokenizer: Tokenizer, max_length: int, batch_rows: int = 256, forward_rows: int = 64) -> None:
        super().__init__(model, batch_rows)
        self.labels = labels
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.forward_rows = forward_rows

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Raw texts -> `[n, num_classes]` class probabilities (float32), in input order.
        An empty text is read as the single id 0 (as in training)."""
        encodings = self.tokenizer.encode_batch([t if isinstance(t, str) else "" for t in texts], add_special_tokens=False)
        true_lengths = np.fromiter((min(len(e.ids), self.max_length) for e in encodings), np.int64, len(encodings))
        lengths = np.maximum(true_lengths, 1)
        order = np.argsort(lengths, kind="stable")
        probs = np.empty((len(texts), len(self.labels)), np.float32)
        device = self.device
        for start in range(0, len(order), self.forward_rows):
            rows = order[start : start + self.forward_rows]
            ids = np.zeros((len(rows), int(lengths[rows].max())), np.int64)
            mask = np.arange(ids.shape[1]) < true_lengths[rows, None]
            ids[mask] = np.fromiter(chain.from_iterable(encodings[i].ids[: self.max_length] for i in rows), np.int64, int(true_lengths[rows].sum()))
            logits = self.model(torch.from_numpy(ids).to(device), torch.from_numpy(lengths[rows]))
            probs[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return probs

    def predict_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        probs = self.probabilities(df["text"].tolist()) if len(df) else np.zeros((0, len(self.labels)), np.float32)
        best = probs.argmax(axis=1)
        out: dict[str, Any] = {"label": [self.labels[i] for i in best.tolist()], "score": probs[np.arange(len(best)), best]}
        out.update({f"prob_{name}": probs[:, i] for i, name in enumerate(self.labels)})
        return pd.DataFrame(out)


class ClassifierKind(ModelKind[ClassifierConfig]):
    """`lstm_classifier`: labels from the `label` column (class names sorted, kept in meta)."""

    name = "lstm_classifier"
    config_class = ClassifierConfig
    monitor = "accuracy"
    mode = "max"
    promotion_metric = "macro_f1"
    TEST_METRICS = ("accuracy", "macro_f1", "ece", "roc_auc", "precision.*", "recall.*", "f1.*")

    @classmethod
    def test_metrics(cls, evaluate: Any) -> tuple[str, ...]:
        """Classification metrics (`tasks/evaluate/metrics.py`: per-label ones as `f1.<label>` ...),
        and unless `evaluate.baseline` is none the TF-IDF baseline's `baseline_<m>` / `gain_over_baseline_<m>`."""
        return cls.TEST_METRICS + baseline_metric_names(cls.TEST_METRICS, evaluate)

    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: ClassifierConfig) -> Prepared:
        """Tokens table -> examples `{"input_ids", "label", ["weight"]}` per split; rows without a
        label are left out. meta: `labels` (sorted class names)."""
        labelled = tokens.filter(pc.is_valid(tokens["label"]))
        labels = sorted(str(v) for v in pc.unique(labelled["label"].cast(pa.string())).to_pylist())
        index = {name: i for i, name in enumerate(labels)}
        splits: dict[str, list[Any]] = {}
        for split in SPLITS:
            part = labelled.filter(pc.equal(labelled["split"], split))
            ids = token_tensors(part["input_ids"], cfg.max_length)
            ys = [index[str(v)] for v in part["label"].to_pylist()]
            weights = part["weight"].to_pylist() if "weight" in part.column_names else None
            splits[split] = [
                {"input_ids": _nonempty(x), "label": y} | ({"weight": 1.0 if weights[i] is None else float(weights[i])} if weights else {})
                for i, (x, y) in enumerate(zip(ids, ys))
            ]
        meta: dict[str, Any] = {"labels": labels}
        if cfg.distill is not None:  # checked by training_examples: the teacher reads these ids
            meta["vocab_check"] = [tokenizer.get_vocab_size(), tokenizer.token_to_id("[MASK]")]
        return Prepared(splits=splits, meta=meta)

    def training_examples(self, prepared: Prepared, cfg: ClassifierConfig, cache_dir: Path | None = None) -> Prepared:
        """With `distill`: the train examples gain the teacher's logits and teacher-labelled
        augmented examples follow (`distill.attach_teacher`, cached under `cache_dir`); meta gains
        the `distill` figures (teacher validation/test accuracy, seconds). Without: unchanged."""
        if cfg.distill is None:
            return prepared
        if prepared.meta.get("vocab_check") != [30522, 103]:
            raise ValueError("distill needs tokenize: {kind: pretrained, name: all-minilm-l6-v2} (the teacher's WordPiece ids)")
        s = prepared.splits
        train, info = attach_teacher(s["train"], s["validation"], s["test"], len(prepared.meta["labels"]), cfg.distill, cache_dir)
        return Prepared(splits=s | {"train": train}, meta=prepared.meta | {"distill": info})

    def build(self, cfg: ClassifierConfig, meta: dict[str, Any], vocab_size: int) -> nn.Module:
        return LSTMClassifier(vocab_size, len(meta["labels"]), cfg)

    def collate(self, examples: list[Any]) -> dict[str, Tensor]:
        ids, lengths = pad_ids([e["input_ids"] for e in examples])
        batch = {"input_ids": ids, "lengths": lengths, "labels": torch.tensor([e["label"] for e in examples])}
        if "weight" in examples[0]:
            batch["weight"] = torch.tensor([e["weight"] for e in examples], dtype=torch.float32)
        if "teacher_logits" in examples[0]:
            batch["teacher_logits"] = torch.stack([e["teacher_logits"] for e in examples])
            batch["distill"] = examples[0]["distill"]
        return batch

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        logits = model(batch["input_ids"], batch["lengths"])
        losses = distill_losses(logits.float(), batch["labels"], batch.get("teacher_logits"), batch.get("distill"))
        if "weight" in batch:
            loss = (losses * batch["weight"]).sum() / batch["weight"].sum().clamp_min(1e-12)
        else:
            loss = losses.mean()
        return loss, int(batch["lengths"].sum())

    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Tensor]]) -> dict[str, float]:
        """-> `accuracy`, `macro_f1`, `loss` (unweighted mean cross-entropy)."""
        preds, golds, total, n = [], [], 0.0, 0
        num_classes = 0
        for batch in batches:
            logits = model(batch["input_ids"], batch["lengths"]).float()
            num_classes = logits.shape[-1]
            total += float(F.cross_entropy(logits, batch["labels"], reduction="sum"))
            n += len(logits)
            preds.append(logits.argmax(-1).cpu())
            golds.append(batch["labels"].cpu())
        if n == 0:
            return {"accuracy": float("nan"), "macro_f1": float("nan"), "loss": float("nan")}
        pred, gold = torch.cat(preds).numpy(), torch.cat(golds).numpy()
        f1 = f1_score(gold, pred, labels=list(range(num_classes)), average="macro", zero_division=0)
        return {"accuracy": float((pred == gold).mean()), "macro_f1": float(f1), "loss": total / n}

    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: ClassifierConfig) -> ClassifierPredictor:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return ClassifierPredictor(model, list(meta["labels"]), tokenizer, cfg.max_length)

    def layer_groups(self, model: LSTMClassifier) -> list[list[nn.Parameter]]:
        """Parameters grouped top-down: head, LSTM layer n-1, ..., LSTM layer 0, embedding."""
        groups = [list(model.head.parameters())]
        for layer in reversed(range(model.lstm.num_layers)):
            groups.append([p for name, p in model.lstm.named_parameters() if name.removesuffix("_reverse").endswith(f"_l{layer}")])
        groups.append(list(model.embedding.parameters()))
        return groups

    def param_groups(self, model: nn.Module, cfg: ClassifierConfig) -> list[dict[str, Any]]:
        """One group per layer group; group k below the head has `lr_scale = lr_decay_per_layer**k`."""
        return [{"params": ps, "lr_scale": cfg.lr_decay_per_layer**k} for k, ps in enumerate(self.layer_groups(model))]

    def on_epoch_start(self, model: nn.Module, cfg: ClassifierConfig, epoch: int) -> None:
        """Gradual unfreezing: the head always trains; group k (top-down) from `unfreeze_schedule[k-1]`."""
        if cfg.unfreeze_schedule is None:
            return
        for k, params in enumerate(self.layer_groups(model)):
            trainable = k == 0 or (k - 1 < len(cfg.unfreeze_schedule) and epoch >= cfg.unfreeze_schedule[k - 1])
            for p in params:
                p.requires_grad_(trainable)

    def warm_start(self, model: nn.Module, cfg: ClassifierConfig) -> None:
        """Copy `embedding.*` and `lstm.*` weights from the `pretrained_lm` bundle (shapes must match);
        with `embedding_init: pretrained`, first set the embedding from the packaged model."""
        if cfg.embedding_init == "pretrained":
            init_pretrained_embedding(model.embedding, cfg.pretrained_name)
        if cfg.pretrained_lm is None:
            return
        source = load_file(str(Path(cfg.pretrained_lm) / "model.safetensors"))
        wanted = {k: v for k, v in source.items() if k.startswith(("embedding.", "lstm."))}
        own = model.state_dict()
        bad = [
            f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape) if k in own else 'missing'}" for k, v in wanted.items() if k not in own or own[k].shape != v.shape
        ]
        if bad or not wanted:
            raise ValueError(
                f"pretrained_lm {cfg.pretrained_lm} does not fit this classifier (same tokenizer, embedding_dim, "
                f"hidden_size, num_layers and bidirectional: false are required): {bad or 'no embedding/lstm weights'}"
            )
        model.load_state_dict(wanted, strict=False)
