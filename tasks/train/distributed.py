"""Data-parallel training under `torchrun` (DistributedDataParallel): who am I, my share of each batch.

`trainer.Trainer` holds one `DistContext` (default: `from_env()`) and calls it at fixed points of
its lifecycle: `init` + `barrier` in `setup`, `wrap` of the model, `shard` of every epoch's batch
order, `mean` of each step's loss, `is_main` before writing a checkpoint or plot. Without
torchrun's environment (RANK, WORLD_SIZE) everything here is a no-op and the trainer runs as one
process. Under torchrun every rank builds the same length-bucketed batch order (same seed)
and takes every `world_size`-th example of each global batch, so `train.batch_size` stays the
global batch and the LR schedule, the number of steps and (up to float summation order) the
weights equal a one-process run; DDP averages the gradients. Rank 0 alone writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class DistContext:
    """This process's place in a data-parallel run (`world_size` 1: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> DistContext:
        """From torchrun's RANK / WORLD_SIZE / LOCAL_RANK (absent: one process)."""
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def active(self) -> bool:
        """True in a data-parallel run of more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the rank that writes files and logs (rank 0)."""
        return self.rank == 0

    def init(self) -> None:
        """Join the process group (gloo on CPU, NCCL with one GPU per local rank); once per process."""
        if not self.active or torch.distributed.is_initialized():
            return
        if torch.cuda.is_available():
            torch.cuda.set_device(self.local_rank)
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")

    def barrier(self) -> None:
        """Wait for every rank (no-op in one process)."""
        if self.active:
            torch.distributed.barrier()

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model DDP-wrapped (parameters broadcast from rank 0), or as it is in one process."""
        if not self.active:
            return model
        ids = [device.index if device.index is not None else self.local_rank] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard(self, batches: list[list[int]]) -> list[list[int]]:
        """This rank's part of every global batch: examples rank, rank + world, ... A batch smaller
        than the world gives the ranks without an example its first one (as DistributedSampler pads)."""
        if not self.active:
            return batches
        return [batch[self.rank :: self.world_size] or batch[:1] for batch in batches]

    def mean(self, value: Tensor) -> float:
        """A scalar averaged over the ranks (the global batch's loss for logging)."""
        if not self.active:
            return float(value.detach())
        reduced = value.detach().clone().float()
        torch.distributed.all_reduce(reduced)
        return float(reduced) / self.world_size
