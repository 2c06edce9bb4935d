"""Device choice, autocast, seeding and moving batches: the only hardware-aware code of training."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from typing import Literal

import numpy as np
import torch
from torch import Tensor


def select_device(name: Literal["auto", "cpu", "cuda", "mps"] = "auto") -> torch.device:
    """`auto` -> CUDA if available, else MPS if available, else CPU; an explicit name is used as is
    (raising when that backend is unavailable)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("train.device is 'mps' but MPS is not available")
    return torch.device(name)


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """The autocast dtype for `device`: bf16 (or fp16 where bf16 is missing) on CUDA when enabled,
    otherwise None (full precision). AMP is never used on CPU or MPS."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Autocast to `dtype` on `device`, or nothing when `dtype` is None."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


@contextlib.contextmanager
def seeded(seed: int, deterministic: bool) -> Iterator[None]:
    """Seed python, numpy and torch; in deterministic mode also force deterministic algorithms
    (cuDNN included) for the duration of the block, restoring the previous global settings after."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        # NaN-filling every new tensor (on by default in deterministic mode) made LSTM training
        # ~5x slower on CPU; deterministic kernels never read uninitialised memory anyway.
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.utils.deterministic.fill_uninitialized_memory = previous[2]
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous[3], previous[4]


def to_device(batch: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    """Batch of CPU tensors -> the same keys on `device`, except `lengths`, which stays on the CPU
    (`pack_padded_sequence` wants CPU lengths; keeping them there avoids a device sync)."""
    non_blocking = device.type == "cuda"
    return {k: v if k == "lengths" else v.to(device, non_blocking=non_blocking) for k, v in batch.items()}
