"""The pieces of the training loop that hold no state: LR schedules, validation over one split,
best-epoch and early-stopping rules, and the learning-curve plot. `trainer.Trainer` composes them."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from tasks.train.batching import bucket_batches
from tasks.train.checkpoint import TrainerState, atomic_write
from tasks.train.config import TrainConfig
from tasks.train.device import amp_dtype, autocast, to_device
from tasks.train.kind import ModelKind

LogFn = Callable[[dict[str, float], int], None]
StepFn = Callable[[int, float], None]


def lr_lambda(schedule: str, total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """Schedule name -> multiplier of the base LR at a 0-based step: `warmup_linear` (linear warm-up
    then linear decay to 0), `one_cycle` (cosine up from lr/25 then cosine down to ~0, peak at
    `warmup_ratio` or 0.3 of the run), `constant`."""
    total = max(1, total_steps)
    if schedule == "constant":
        return lambda step: 1.0
    if schedule == "warmup_linear":
        warm = max(1, int(total * warmup_ratio))
        return lambda step: (step + 1) / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))
    peak = max(1, int(total * (warmup_ratio or 0.3)))

    def one_cycle(step: int) -> float:
        if step < peak:
            return 0.04 + 0.96 * (1 - math.cos(math.pi * (step + 1) / peak)) / 2
        return 1e-4 + (1 - 1e-4) * (1 + math.cos(math.pi * min(1.0, (step - peak) / max(1, total - peak)))) / 2

    return one_cycle


def _batches(
    kind: ModelKind[Any], examples: list[Any], batch_size: int, tc: TrainConfig, shuffle: bool, seed: int, device: torch.device
) -> Iterator[dict[str, Tensor]]:
    lengths = [kind.example_length(e) for e in examples]
    for idx in bucket_batches(lengths, batch_size, tc.bucket_size, shuffle=shuffle, seed=seed):
        yield to_device(kind.collate([examples[i] for i in idx]), device)


def evaluate_examples(kind: ModelKind[Any], model: nn.Module, examples: list[Any], tc: TrainConfig, device: torch.device) -> dict[str, float]:
    """Examples of one split -> the kind's metrics, in eval + inference mode (no RNG consumed)."""
    was_training = model.training
    model.eval()
    with torch.inference_mode(), autocast(device, amp_dtype(device, tc.amp)):
        metrics = kind.evaluate(model, _batches(kind, examples, tc.eval_batch_size or 2 * tc.batch_size, tc, False, 0, device))
    model.train(was_training)
    return metrics


def improved(value: float, best: float | None, mode: str) -> bool:
    """True when `value` beats `best` in direction `mode` ("max"/"min"); NaN never improves,
    anything beats no best yet."""
    if math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


def early_stop(state: TrainerState, tc: TrainConfig) -> bool:
    """True once `early_stopping_patience` epochs in a row did not improve the monitored metric."""
    return tc.early_stopping_patience is not None and state.bad_epochs > 0 and state.bad_epochs >= tc.early_stopping_patience


def plot_learning_curve(losses: list[float], history: list[dict[str, float]], monitor: str, path: Path) -> None:
    """Per-step training loss (and its running mean) plus the per-epoch validation metric -> PNG."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(range(1, len(losses) + 1), losses, alpha=0.3, label="train loss (step)")
    window = max(1, len(losses) // 50)
    smooth = [sum(losses[max(0, i - window + 1) : i + 1]) / len(losses[max(0, i - window + 1) : i + 1]) for i in range(len(losses))]
    ax.plot(range(1, len(losses) + 1), smooth, label=f"train loss (mean of {window})")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss")
    key = f"val_{monitor}"
    points = [(h["step"], h[key]) for h in history if key in h]
    if points:
        ax2 = ax.twinx()
        ax2.plot(*zip(*points), "o-", color="tab:red", label=key)
        ax2.set_ylabel(key)
        ax2.legend(loc="upper center")
    ax.legend(loc="upper right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    atomic_write(path, buffer.getvalue())
