"""Knowledge distillation into the LSTM classifier (Tang et al. 2019, "Distilling task-specific
knowledge from BERT into simple neural networks"): a fine-tuned MiniLM teacher (`teacher.py`)
labels the train split, and optionally augmented copies of it, with logits; the student's loss
mixes the hard-label cross-entropy with a soft-target loss on those logits.

YAML, in a `kind: lstm_classifier` model (needs `tokenize: {kind: pretrained, name: all-minilm-l6-v2}`):

    distill: {teacher: all-minilm-l6-v2, alpha: 0.5, temperature: 2.0, soft_loss: kl,
              augment_copies: 2, teacher_train: {epochs: 3, lr: 1e-4}}

The teacher is used only while training: the registered model is the LSTM alone.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
from fsspec.implementations.local import LocalFileSystem
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from tasks.common import storage
from tasks.common.errors import warn

from tasks.train.teacher import TeacherClassifier, TeacherConfig, augment_rows, fine_tune, load_encoder, predict_logits

logger = logging.getLogger(__name__)


class DistillConfig(BaseModel):
    """`distill:` of an `lstm_classifier`: the teacher, the loss mix and the augmentation."""

    model_config = ConfigDict(extra="forbid")

    teacher: Literal["all-minilm-l6-v2"] = "all-minilm-l6-v2"
    alpha: float = Field(default=0.5, ge=0, le=1, description="weight of the soft-target loss; 1 - alpha on the hard labels")
    temperature: float = Field(default=2.0, gt=0, description="softmax temperature of the KL soft loss (unused by mse)")
    soft_loss: Literal["kl", "mse"] = Field(default="kl", description="kl: T^2 KL(teacher_T || student_T); mse: on logits")
    augment_copies: int = Field(default=0, ge=0, le=20, description="augmented copies of each train text, labelled by the teacher only")
    mask_prob: float = Field(default=0.1, ge=0, lt=1, description="augmentation: chance of replacing a token by [MASK]")
    ngram_prob: float = Field(default=0.25, ge=0, le=1, description="augmentation: chance of keeping only a random 1-5-gram")
    teacher_train: TeacherConfig = Field(default_factory=TeacherConfig)


def distill_params(cfg: DistillConfig) -> Tensor:
    """The loss settings as a float tensor `[alpha, temperature, is_mse]`, carried by each batch
    (the kind's `loss` gets only the model and the batch)."""
    return torch.tensor([cfg.alpha, cfg.temperature, float(cfg.soft_loss == "mse")])


def soft_loss(student: Tensor, teacher: Tensor, params: Tensor) -> Tensor:
    """Student and teacher logits `[B, C]` + `distill_params` -> per-example soft-target loss `[B]`:
    `T^2 * KL(softmax(teacher/T) || softmax(student/T))`, or the mean squared logit difference."""
    if float(params[2]) > 0.5:
        return ((student - teacher) ** 2).mean(dim=-1)
    t = float(params[1])
    return F.kl_div(F.log_softmax(student / t, -1), F.log_softmax(teacher / t, -1), reduction="none", log_target=True).sum(-1) * t * t


def distill_losses(logits: Tensor, labels: Tensor, teacher_logits: Tensor | None = None, params: Tensor | None = None) -> Tensor:
    """Per-example loss `[B]`: `(1 - alpha) * CE(logits, label) + alpha * soft(logits, teacher)`.
    Rows with label -1 (teacher-labelled augmentations) get only `alpha * soft`. Without teacher
    logits: the plain cross-entropy."""
    hard = F.cross_entropy(logits, labels.clamp_min(0), reduction="none") * (labels >= 0)
    if teacher_logits is None or params is None:
        return hard
    alpha = float(params[0])
    return (1 - alpha) * hard + alpha * soft_loss(logits, teacher_logits.to(logits.dtype), params)


def _cache_key(train: list[dict[str, Any]], validation: list[dict[str, Any]], settings: str) -> str:
    digest = hashlib.sha256(settings.encode())
    for split in (train, validation):
        for e in split:
            digest.update(e["input_ids"].numpy().tobytes() + b"|" + str(e["label"]).encode() + b";")
        digest.update(b"#")
    return digest.hexdigest()[:16]


def _cached(path: Path | None, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`compute()`, or what it saved at `path` before (written atomically)."""
    if path is not None and path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception as error:  # a damaged cache is recomputed, never trusted
            warn(f"{path}: unreadable ({type(error).__name__}); recomputing")
    value = compute()
    if path is not None:
        storage.write_atomic(LocalFileSystem(), str(path), lambda sink: torch.save(value, sink))
    return value


def attach_teacher(
    train: list[dict[str, Any]],
    validation: list[dict[str, Any]],
    test: list[dict[str, Any]],
    num_classes: int,
    cfg: DistillConfig,
    cache_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Train examples (`input_ids`, `label`) -> the same examples with `teacher_logits` (and the
    shared `distill` loss settings), followed by `augment_copies * len(train)` augmented examples
    (label -1, teacher logits only). The teacher is fine-tuned on `train`, its epoch chosen on
    `validation`; its accuracy on `test` is only reported. With `cache_dir`, the teacher (keyed by
    data + teacher settings) and the augmented logits (+ augmentation settings) are reused.
    -> (examples, info: teacher validation/test accuracy, best epoch, seconds, augmented count)."""
    log = log or logger.info
    rows = [e["input_ids"] for e in train]
    max_len = cfg.teacher_train.max_length
    key = _cache_key(train, validation, cfg.teacher + cfg.teacher_train.model_dump_json())

    def teach() -> dict[str, Any]:
        start = time.perf_counter()
        model, info = fine_tune(
            rows,
            [e["label"] for e in train],
            [e["input_ids"] for e in validation],
            [e["label"] for e in validation],
            num_classes,
            cfg.teacher_train,
            cfg.teacher,
            log,
        )
        return {
            "state": model.state_dict(),
            "train_logits": predict_logits(model, rows, max_len),
            "test_logits": predict_logits(model, [e["input_ids"] for e in test], max_len) if test else torch.zeros(0, num_classes),
            "info": torch.tensor([info["val_accuracy"], info["best_epoch"], time.perf_counter() - start]),
        }

    teacher = _cached(cache_dir / f"teacher-{key}.pt" if cache_dir else None, teach)
    aug = augment_rows(rows, cfg.augment_copies, cfg.mask_prob, cfg.ngram_prob, cfg.teacher_train.seed)

    def label_augmented() -> dict[str, Any]:
        model = TeacherClassifier(load_encoder(cfg.teacher), num_classes)
        model.load_state_dict(teacher["state"])
        return {"aug_logits": predict_logits(model, aug, max_len)}

    aug_key = f"{key}-{cfg.augment_copies}-{cfg.mask_prob}-{cfg.ngram_prob}"
    aug_logits = _cached(cache_dir / f"augment-{aug_key}.pt" if cache_dir else None, label_augmented)["aug_logits"] if aug else None
    params = distill_params(cfg)
    out = [e | {"teacher_logits": teacher["train_logits"][i], "distill": params} for i, e in enumerate(train)]
    out += [
        {"input_ids": ids if len(ids) else torch.zeros(1, dtype=torch.long), "label": -1, "teacher_logits": aug_logits[i], "distill": params}
        for i, ids in enumerate(aug)
    ]
    if train and "weight" in train[0]:
        out = [e if "weight" in e else e | {"weight": 1.0} for e in out]
    val_acc, best_epoch, seconds = (float(v) for v in teacher["info"])
    test_acc = float((teacher["test_logits"].argmax(-1) == torch.tensor([e["label"] for e in test])).float().mean()) if test else float("nan")
    return out, {
        "teacher_val_accuracy": val_acc,
        "teacher_test_accuracy": test_acc,
        "teacher_best_epoch": best_epoch,
        "teacher_seconds": seconds,
        "augmented_examples": float(len(aug)),
    }
