"""The one trainer for every model kind, as a recipe with a visible lifecycle (torchtune's shape):

    Trainer(kind, cfg, prepared, vocab_size, out_dir).run(resume)
      setup(resume)      build model, optimiser, LR schedule; `resume_from_checkpoint` or `warm_start`
      while epochs left: train_epoch()  -> train_step() per batch, mid-epoch `checkpoint()`s
                         validate()     -> the kind's metrics on the validation split
                         end_epoch()    -> history + MLflow, best-epoch selection, `checkpoint()`,
                                           early stopping
      finish()           best weights restored, learning curve written -> TrainResult

AdamW, gradient clipping, length-bucketed batches, AMP on CUDA, atomic checkpoints with sha256
records (and fallback to the previous one) and exact resume. Under `torchrun` the same class trains
with DistributedDataParallel (`distributed.DistContext`); rank 0 writes the files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import Tensor, nn
from tqdm.auto import tqdm

from tasks.common.faults import fault_point
from tasks.train.batching import bucket_batches
from tasks.train.checkpoint import BEST, TrainerState, load_checkpoint, save_best, save_checkpoint, state_tensors
from tasks.train.config import TrainConfig
from tasks.train.device import amp_dtype, autocast, seeded, select_device, to_device
from tasks.train.distributed import DistContext
from tasks.train.kind import ModelKind, Prepared
from tasks.train.loop import LogFn, StepFn, early_stop, evaluate_examples, improved, lr_lambda, plot_learning_curve

__all__ = ["LogFn", "StepFn", "TrainResult", "Trainer", "evaluate_examples", "lr_lambda", "plot_learning_curve", "train_model"]


@dataclass
class TrainResult:
    """What a training returns. `model` holds the best epoch's weights (on the training device);
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


class Trainer:
    """Trains `kind.build(cfg, prepared.meta, vocab_size)` on `prepared.splits["train"]` and selects
    the best epoch on `prepared.splits["validation"]`; `run` drives the lifecycle methods in order.

    `cfg.train` (a `TrainConfig`) sets the loop. Checkpoints go to `out_dir/checkpoints` after
    every epoch and every `checkpoint_every_steps`. `log_metrics(metrics, step)` gets `train_loss`/
    `lr` per optimiser step and `val_<metric>`/`epoch_train_loss`/`tokens_per_s` per epoch (step =
    epoch number, 1-based); `on_step(global_step, loss)` is called after each step (tests use it
    to inject a crash). `dist` defaults to torchrun's environment (one process without it).
    """

    def __init__(
        self,
        kind: ModelKind[Any],
        cfg: Any,
        prepared: Prepared,
        vocab_size: int,
        out_dir: Path,
        log_metrics: LogFn | None = None,
        on_step: StepFn | None = None,
        dist: DistContext | None = None,
    ) -> None:
        self.kind, self.cfg, self.prepared, self.vocab_size = kind, cfg, prepared, vocab_size
        self.tc: TrainConfig = cfg.train
        self.log_metrics, self.on_step = log_metrics, on_step
        self.dist = dist or DistContext.from_env()
        self.monitor, self.mode = self.tc.monitor or kind.monitor, self.tc.mode or kind.mode
        self.out_dir = Path(out_dir)
        self.ckpt_root = self.out_dir / "checkpoints"
        self.train_examples = prepared.splits["train"]
        self.validation = prepared.splits.get("validation") or []
        self.state = TrainerState()
        self.best_state: dict[str, Tensor] | None = None
        self.stop = False

    def run(self, resume: bool = False) -> TrainResult:
        """The whole training, seeded: `setup`, then per epoch `train_epoch`, `validate` and
        `end_epoch` until the epochs, `max_steps` or early stopping end it; returns `finish()`.
        `resume=True` continues from the latest intact checkpoint (same losses as an uninterrupted run)."""
        with seeded(self.tc.seed, self.tc.deterministic):
            self.setup(resume)
            while self.state.epoch < self.tc.epochs and not self.stop:
                if not self.train_epoch():
                    break  # stopped inside the epoch by max_steps: the checkpoint holds the position
                self.end_epoch(self.validate())
        return self.finish()

    def setup(self, resume: bool = False) -> None:
        """Join the data-parallel group, build the model, its parameter groups (`lr_scale`),
        AdamW and the LR schedule (spanning all `epochs`); then `resume_from_checkpoint` when
        `resume`, else (or when there is no intact checkpoint) the kind's `warm_start`."""
        self.dist.init()
        self.dist.barrier()  # rank 0 has cleared stale checkpoints before any rank reads them
        if not self.train_examples:
            raise ValueError("no training examples: the `train` split is empty")
        tc = self.tc
        self.device = select_device(tc.device)
        self.dtype = amp_dtype(self.device, tc.amp)
        self.lengths = [self.kind.example_length(e) for e in self.train_examples]
        steps_per_epoch = -(-len(self.train_examples) // tc.batch_size)
        self.model = self.kind.build(self.cfg, self.prepared.meta, self.vocab_size)
        groups = self.kind.param_groups(self.model, self.cfg)
        for group in groups:
            group["lr"] = tc.lr * group.get("lr_scale", 1.0)
        self.optimizer = torch.optim.AdamW(groups, lr=tc.lr, weight_decay=tc.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(tc.schedule, tc.epochs * steps_per_epoch, tc.warmup_ratio))
        if not (resume and self.resume_from_checkpoint()):
            self.state, self.best_state = TrainerState(), None
            self.kind.warm_start(self.model, self.cfg)
        self.model.to(self.device)
        self.optimizer.load_state_dict(self.optimizer.state_dict())  # moves restored optimiser state to the device
        self.net = self.dist.wrap(self.model, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.stop = early_stop(self.state, tc)

    def resume_from_checkpoint(self) -> bool:
        """Restore weights, optimiser, scheduler, RNG and `TrainerState` from the newest intact
        checkpoint (a damaged one is removed and the previous one used) and the best epoch's
        weights; False when there is none to resume from."""
        state = load_checkpoint(self.ckpt_root, self.model, self.optimizer, self.scheduler)
        if state is None:
            return False
        self.state = state
        self.best_state = load_file(str(self.ckpt_root / BEST)) if (self.ckpt_root / BEST).is_file() else None
        return True

    def train_epoch(self) -> bool:
        """Run the current epoch's remaining optimiser steps (its batch order depends only on the
        seed and the epoch, so a resumed epoch continues where it stopped). Returns True when the
        epoch's last batch is done, False when `max_steps` stopped it inside the epoch."""
        state, tc, epoch = self.state, self.tc, self.state.epoch
        self.kind.on_epoch_start(self.model, self.cfg, epoch)
        self.model.train()
        order = self.dist.shard(bucket_batches(self.lengths, tc.batch_size, tc.bucket_size, shuffle=True, seed=tc.seed + epoch))
        self.batches_in_epoch = len(order)
        bar = tqdm(total=len(order), initial=state.step_in_epoch, desc=f"{self.kind.name} epoch {epoch + 1}/{tc.epochs}", disable=not tc.progress, leave=False)
        start = time.perf_counter()
        for i in range(state.step_in_epoch, len(order)):
            value = self.train_step([self.train_examples[j] for j in order[i]])
            state.step_in_epoch = i + 1
            bar.update(1)
            if i % 10 == 0:
                bar.set_postfix(loss=f"{value:.4f}")
            if self.log_metrics is not None:
                self.log_metrics({"train_loss": value, "lr": self.scheduler.get_last_lr()[0]}, state.global_step)
            if self.on_step is not None:
                self.on_step(state.global_step, value)
            hit_max = tc.max_steps is not None and state.global_step >= tc.max_steps
            every = tc.checkpoint_every_steps and state.global_step % tc.checkpoint_every_steps == 0
            if state.step_in_epoch < len(order) and (hit_max or every):
                state.train_seconds += time.perf_counter() - start
                start = time.perf_counter()
                self.checkpoint()
                fault_point("train")
            if hit_max:
                self.stop = True
                break
        bar.close()
        state.train_seconds += time.perf_counter() - start
        return state.step_in_epoch >= len(order)

    def train_step(self, examples: list[Any]) -> float:
        """One optimiser step on one batch of examples (autocast, scaled backward, clipping, AdamW,
        schedule); records it in the state and returns the loss averaged over the ranks."""
        batch = to_device(self.kind.collate(examples), self.device)
        with autocast(self.device, self.dtype):
            loss, count = self.kind.loss(self.net, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.tc.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tc.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        value = self.dist.mean(loss)
        self.state.global_step += 1
        self.state.losses.append(value)
        self.state.train_tokens += count
        return value

    def validate(self) -> dict[str, float]:
        """The kind's metrics on the validation split (empty without one); a KeyError when the
        monitored metric is not among them."""
        if not self.validation:
            return {}
        metrics = evaluate_examples(self.kind, self.model, self.validation, self.tc, self.device)
        if self.monitor not in metrics:
            raise KeyError(f"monitor {self.monitor!r} is not among the validation metrics {sorted(metrics)}")
        return metrics

    def end_epoch(self, metrics: dict[str, float]) -> None:
        """Close a finished epoch: history record and its MLflow metrics (`epoch_train_loss`,
        `val_*`, `tokens_per_s` at step = epoch), best-epoch selection on `monitor` (the mean
        training loss without validation), the end-of-epoch `checkpoint` and early stopping."""
        state, epoch = self.state, self.state.epoch
        epoch_losses = state.losses[-self.batches_in_epoch :]  # this epoch's steps, also across a resume
        mean_loss = sum(epoch_losses) / max(1, len(epoch_losses))
        record = {"epoch": epoch + 1, "step": state.global_step, "train_loss": mean_loss} | {f"val_{k}": v for k, v in metrics.items()}
        state.history.append(record)
        if self.log_metrics is not None:
            self.log_metrics(
                {k: v for k, v in record.items() if k not in ("epoch", "step", "train_loss")}
                | {"epoch_train_loss": mean_loss, "tokens_per_s": self.tokens_per_s},
                epoch + 1,
            )
        value = metrics.get(self.monitor, -mean_loss if self.mode == "max" else mean_loss)
        if improved(value, state.best_metric, self.mode):
            state.best_metric, state.best_epoch, state.bad_epochs = value, epoch + 1, 0
            self.best_state = state_tensors(self.model)
            if self.dist.is_main:
                save_best(self.ckpt_root, self.best_state)
        else:
            state.bad_epochs += 1
        state.epoch, state.step_in_epoch = epoch + 1, 0
        self.checkpoint()
        self.stop = self.stop or early_stop(state, self.tc)

    def checkpoint(self) -> None:
        """Save an atomic checkpoint (weights, optimiser, scheduler, RNG, state; sha256-recorded)
        on rank 0; other ranks write nothing."""
        if self.dist.is_main:
            save_checkpoint(self.ckpt_root, self.model, self.optimizer, self.scheduler, self.state)

    @property
    def tokens_per_s(self) -> float:
        """Training throughput so far (tokens of the optimiser steps per second of their time)."""
        return self.state.train_tokens / max(self.state.train_seconds, 1e-9)

    def finish(self) -> TrainResult:
        """Load the best epoch's weights into the model, report its validation metrics (the
        current weights' when no epoch finished), write `learning_curve.png` (rank 0) and return
        the `TrainResult`."""
        state = self.state
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        best = next((h for h in state.history if h["epoch"] == state.best_epoch), None)
        if best is not None:
            best_metrics = {k.removeprefix("val_"): v for k, v in best.items() if k.startswith("val_")}
        else:  # no epoch finished (max_steps inside the first epoch): report the current weights
            best_metrics = evaluate_examples(self.kind, self.model, self.validation, self.tc, self.device) if self.validation else {}
        if state.losses and self.dist.is_main:
            plot_learning_curve(state.losses, state.history, self.monitor, self.out_dir / "learning_curve.png")
        return TrainResult(
            model=self.model,
            best_metrics=best_metrics,
            history=state.history,
            best_epoch=state.best_epoch,
            steps=state.global_step,
            tokens_per_s=self.tokens_per_s,
            checkpoint_dir=self.ckpt_root,
            losses=state.losses,
            device=str(self.device),
        )


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
    """`Trainer(kind, cfg, prepared, vocab_size, out_dir, log_metrics, on_step).run(resume)`: the
    function form kept for call sites that need no access to the lifecycle. Writes
    `out_dir/checkpoints/` and `out_dir/learning_curve.png`; returns the best epoch's `TrainResult`."""
    return Trainer(kind, cfg, prepared, vocab_size, out_dir, log_metrics=log_metrics, on_step=on_step).run(resume)
