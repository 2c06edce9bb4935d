"""The one training loop for every model kind: AdamW, clipping, LR schedule, length-bucketed
batches, early stopping with best-weight restore, AMP on CUDA, atomic checkpoints and resume."""
from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from safetensors.torch import load_file
from torch import Tensor, nn
from tqdm.auto import tqdm

from tasks.common.faults import fault_point
from tasks.train.batching import bucket_batches
from tasks.train.checkpoint import BEST, TrainerState, atomic_write, load_checkpoint, save_best, save_checkpoint, state_tensors
from tasks.train.config import TrainConfig
from tasks.train.device import amp_dtype, autocast, seeded, select_device, to_device
from tasks.train.distributed import DistContext
from tasks.train.kind import ModelKind, Prepared

LogFn = Callable[[dict[str, float], int], None]
StepFn = Callable[[int, float], None]


@dataclass
class TrainResult:
    """What `train_model` returns. `model` holds the best epoch's weights (on the training device);
    `history` has one dict per finished epoch (`epoch`, `step`, `train_loss`, `val_<metric>`...);
    `losses` is the loss of every optimiser step; `best_epoch` is None when no epoch finished."""

    model: nn.Module
    best_metrics: dict[str, float]
    history: list[dict[str, float]]
    best_epoch: int | None
    steps: int
    tokens_per_s: float
    checkpoint_dir: Path
    losses: list[float] = field(default_factory=list)
    device: str = "cpu"


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


def _batches(kind: ModelKind[Any], examples: list[Any], batch_size: int, tc: TrainConfig, shuffle: bool, seed: int, device: torch.device) -> Iterator[dict[str, Tensor]]:
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


def _improved(value: float, best: float | None, mode: str) -> bool:
    if math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


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


def train_model(
    kind: ModelKind[Any],
    cfg: Any,
    prepared: Prepared,
    vocab_size: int,
    out_dir: Path,
    resume: bool = False,
    log_metrics: LogFn | None = None,
    on_step: StepFn | None = None,
) -> TrainResult:
    """Train `kind.build(cfg, prepared.meta, vocab_size)` on `prepared.splits["train"]`, select the
    best epoch on `prepared.splits["validation"]` and return it.

    `cfg.train` (a `TrainConfig`) sets the loop. Checkpoints go to `out_dir/checkpoints` after every
    epoch and every `checkpoint_every_steps`; `resume=True` continues from the latest one (same
    losses as an uninterrupted run). `max_steps` stops the run without changing the LR schedule,
    which always spans `epochs`. `log_metrics(metrics, step)` gets `train_loss`/`lr` per optimiser
    step and `val_<metric>`/`epoch_train_loss`/`tokens_per_s` per epoch (step = epoch number, 1-based).
    `on_step(global_step, loss)` is called after each step (tests use it to inject a crash).
    Writes `out_dir/learning_curve.png`. Under `torchrun` (RANK/WORLD_SIZE set) it trains with
    DistributedDataParallel, each rank on its share of every global batch; rank 0 writes the files.
    """
    tc: TrainConfig = cfg.train
    dist = DistContext.from_env()
    dist.init()
    dist.barrier()  # rank 0 has cleared stale checkpoints before any rank reads them
    monitor, mode = tc.monitor or kind.monitor, tc.mode or kind.mode
    out_dir = Path(out_dir)
    ckpt_root = out_dir / "checkpoints"
    device = select_device(tc.device)
    dtype = amp_dtype(device, tc.amp)
    train, validation = prepared.splits["train"], prepared.splits.get("validation") or []
    if not train:
        raise ValueError("no training examples: the `train` split is empty")
    lengths = [kind.example_length(e) for e in train]
    steps_per_epoch = math.ceil(len(train) / tc.batch_size)
    with seeded(tc.seed, tc.deterministic):
        model = kind.build(cfg, prepared.meta, vocab_size)
        groups = kind.param_groups(model, cfg)
        for group in groups:
            group["lr"] = tc.lr * group.get("lr_scale", 1.0)
        optimizer = torch.optim.AdamW(groups, lr=tc.lr, weight_decay=tc.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(tc.schedule, tc.epochs * steps_per_epoch, tc.warmup_ratio))
        state = load_checkpoint(ckpt_root, model, optimizer, scheduler) if resume else None
        best_state: dict[str, Tensor] | None = None
        if state is None:
            state = TrainerState()
            kind.warm_start(model, cfg)
        elif (ckpt_root / BEST).is_file():
            best_state = load_file(str(ckpt_root / BEST))
        model.to(device)
        optimizer.load_state_dict(optimizer.state_dict())  # moves restored optimiser state to the device
        net = dist.wrap(model, device)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        stop = _early_stop(state, tc)
        while state.epoch < tc.epochs and not stop:
            epoch = state.epoch
            kind.on_epoch_start(model, cfg, epoch)
            model.train()
            order = dist.shard(bucket_batches(lengths, tc.batch_size, tc.bucket_size, shuffle=True, seed=tc.seed + epoch))
            bar = tqdm(total=len(order), initial=state.step_in_epoch, desc=f"{kind.name} epoch {epoch + 1}/{tc.epochs}", disable=not tc.progress, leave=False)
            start = time.perf_counter()
            for i in range(state.step_in_epoch, len(order)):
                batch = to_device(kind.collate([train[j] for j in order[i]]), device)
                with autocast(device, dtype):
                    loss, count = kind.loss(net, batch)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if tc.grad_clip is not None:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                value = dist.mean(loss)
                state.global_step += 1
                state.step_in_epoch = i + 1
                state.losses.append(value)
                state.train_tokens += count
                bar.update(1)
                if i % 10 == 0:
                    bar.set_postfix(loss=f"{value:.4f}")
                if log_metrics is not None:
                    log_metrics({"train_loss": value, "lr": scheduler.get_last_lr()[0]}, state.global_step)
                if on_step is not None:
                    on_step(state.global_step, value)
                hit_max = tc.max_steps is not None and state.global_step >= tc.max_steps
                if state.step_in_epoch < len(order) and (hit_max or (tc.checkpoint_every_steps and state.global_step % tc.checkpoint_every_steps == 0)):
                    state.train_seconds += time.perf_counter() - start
                    start = time.perf_counter()
                    if dist.is_main:
                        save_checkpoint(ckpt_root, model, optimizer, scheduler, state)
                    fault_point("train")
                if hit_max:
                    stop = True
                    break
            bar.close()
            state.train_seconds += time.perf_counter() - start
            if state.step_in_epoch < len(order):
                break  # stopped inside the epoch by max_steps: the checkpoint above holds the position
            metrics = evaluate_examples(kind, model, validation, tc, device) if validation else {}
            if monitor not in metrics and validation:
                raise KeyError(f"monitor {monitor!r} is not among the validation metrics {sorted(metrics)}")
            epoch_losses = state.losses[-len(order) :]  # this epoch's steps, also across a resume
            mean_loss = sum(epoch_losses) / max(1, len(epoch_losses))
            record = {"epoch": epoch + 1, "step": state.global_step, "train_loss": mean_loss} | {f"val_{k}": v for k, v in metrics.items()}
            state.history.append(record)
            if log_metrics is not None:
                log_metrics({k: v for k, v in record.items() if k not in ("epoch", "step", "train_loss")} | {"epoch_train_loss": mean_loss, "tokens_per_s": state.train_tokens / max(state.train_seconds, 1e-9)}, epoch + 1)
            value = metrics.get(monitor, -mean_loss if mode == "max" else mean_loss)
            if _improved(value, state.best_metric, mode):
                state.best_metric, state.best_epoch, state.bad_epochs = value, epoch + 1, 0
                best_state = state_tensors(model)
                if dist.is_main:
                    save_best(ckpt_root, best_state)
            else:
                state.bad_epochs += 1
            state.epoch, state.step_in_epoch = epoch + 1, 0
            if dist.is_main:
                save_checkpoint(ckpt_root, model, optimizer, scheduler, state)
            stop = stop or _early_stop(state, tc)
    if best_state is not None:
        model.load_state_dict(best_state)
    best = next((h for h in state.history if h["epoch"] == state.best_epoch), None)
    if best is not None:
        best_metrics = {k.removeprefix("val_"): v for k, v in best.items() if k.startswith("val_")}
    else:  # no epoch finished (max_steps inside the first epoch): report the current weights
        best_metrics = evaluate_examples(kind, model, validation, tc, device) if validation else {}
    if state.losses and dist.is_main:
        plot_learning_curve(state.losses, state.history, monitor, out_dir / "learning_curve.png")
    return TrainResult(
        model=model,
        best_metrics=best_metrics,
        history=state.history,
        best_epoch=state.best_epoch,
        steps=state.global_step,
        tokens_per_s=state.train_tokens / max(state.train_seconds, 1e-9),
        checkpoint_dir=ckpt_root,
        losses=state.losses,
        device=str(device),
    )


def _early_stop(state: TrainerState, tc: TrainConfig) -> bool:
    """True once `early_stopping_patience` epochs in a row did not improve the monitored metric."""
    return tc.early_stopping_patience is not None and state.bad_epochs > 0 and state.bad_epochs >= tc.early_stopping_patience

