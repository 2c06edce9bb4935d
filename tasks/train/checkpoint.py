"""Pickle-free, atomic training checkpoints: safetensors for tensors, JSON for everything else.

Layout under a checkpoint root:
    latest.json                 {"dir": "ckpt-00000120-ab12cd34"}   (replaced atomically, last)
    ckpt-00000120-ab12cd34/     model.safetensors, optimizer.safetensors, state.json
    best.safetensors, best.json weights of the best epoch so far (for early-stopping restore)
A checkpoint folder is written under a temporary name and renamed when complete; `latest.json`
only ever names complete folders, so a crash at any point leaves the previous checkpoint usable.
The last two checkpoints are kept. `state.json` (and `best.json`) record the size and sha256 of
the safetensors files; `load_checkpoint` checks them and falls back from a damaged last
checkpoint to the previous one (removing the damaged one), with a warning naming file and cause.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from fsspec.implementations.local import LocalFileSystem
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor, nn

from tasks.common import storage
from tasks.common.errors import warn
from tasks.common.integrity import FileDigest
from tasks.train.checksums import digest_bytes, file_problem, folder_problems

LATEST = "latest.json"
BEST = "best.safetensors"
BEST_RECORD = "best.json"
TENSOR_FILES = ("model.safetensors", "optimizer.safetensors")


@dataclass
class TrainerState:
    """Where training stands: `epoch` (0-based epoch in progress) and `step_in_epoch` (batches of it
    done), `global_step`, per-step losses, per-epoch history and early-stopping bookkeeping."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    losses: list[float] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    best_metric: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    train_seconds: float = 0.0
    train_tokens: int = 0


def atomic_write(path: Path, data: bytes) -> FileDigest:
    """Write `data` to the local `path` with the I/O layer's one atomic write (temporary file in the
    same folder, fsync, rename: readers see the old file or the complete new one); returns its size
    and sha256."""
    storage.write_atomic(LocalFileSystem(), str(path), data)
    return digest_bytes(data)


def write_json(path: Path, obj: Any) -> FileDigest:
    """JSON-serialise `obj` and write it atomically; returns its size and sha256."""
    return atomic_write(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def state_tensors(module: nn.Module) -> dict[str, Tensor]:
    """A module's state dict as contiguous CPU copies (no shared storage, as safetensors requires)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def write_tensors(path: Path, tensors: dict[str, Tensor]) -> FileDigest:
    """Tensors -> a safetensors file, written atomically; returns its size and sha256."""
    return atomic_write(path, save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}))


def save_best(root: Path, tensors: dict[str, Tensor]) -> None:
    """Write the best epoch's weights (`best.safetensors`) and their checksum (`best.json`)."""
    digest = write_tensors(root / BEST, tensors)
    write_json(root / BEST_RECORD, {BEST: digest.model_dump()})


def _best_problem(root: Path) -> str | None:
    """The damage of `best.safetensors` against `best.json`, if any (None when there is no best yet)."""
    if not (root / BEST).is_file():
        return None
    try:
        recorded = json.loads((root / BEST_RECORD).read_text()).get(BEST)
    except (OSError, ValueError):
        recorded = None
    return file_problem(root / BEST, recorded) if recorded is not None else _loads(root / BEST)


def _optimizer_split(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Optimizer state dict -> (tensors for safetensors, JSON-able rest)."""
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in sd["state"].items():
        for name, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"state.{pid}.{name}"] = value
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_join(tensors: dict[str, Tensor], rest: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    for pid, entry in rest["scalars"].items():
        state.setdefault(int(pid), {}).update(entry)
    return {"state": state, "param_groups": rest["param_groups"]}


def _rng_tensors() -> dict[str, Tensor]:
    rng = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return rng


def save_checkpoint(
    root: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler, state: TrainerState
) -> Path:
    """Write a complete checkpoint folder (weights, optimiser + RNG tensors, JSON state with the
    scheduler), point `latest.json` at it, and delete all but it and the previous one.
    Returns the new folder."""
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-ckpt-*"):
        shutil.rmtree(stale, ignore_errors=True)
    name = f"ckpt-{state.global_step:08d}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    opt_tensors, opt_rest = _optimizer_split(optimizer)
    files = {
        "model.safetensors": write_tensors(tmp / "model.safetensors", state_tensors(model)).model_dump(),
        "optimizer.safetensors": write_tensors(tmp / "optimizer.safetensors", opt_tensors | _rng_tensors()).model_dump(),
    }
    write_json(tmp / "state.json", {"trainer": asdict(state), "optimizer": opt_rest, "scheduler": scheduler.state_dict(), "files": files})
    os.replace(tmp, root / name)
    previous = read_latest(root)
    write_json(root / LATEST, {"dir": name})
    keep = {name, previous.name if previous else None}
    for old in root.glob("ckpt-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return root / name


def read_latest(root: Path) -> Path | None:
    """The folder `latest.json` names, or None when there is no checkpoint yet (or the pointer is unreadable)."""
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    try:
        return root / json.loads(pointer.read_text())["dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _loads(path: Path) -> str | None:
    """None when a safetensors file without a checksum record (older corpusmill) loads, else the cause."""
    try:
        load_file(str(path))
    except (SafetensorError, OSError) as error:  # the file is unusable either way
        return f"{path}: unreadable ({type(error).__name__}: {error})"
    return None


def checkpoint_problems(folder: Path) -> list[str]:
    """Damage of one checkpoint folder: unreadable `state.json`, or tensors that differ from its record."""
    try:
        meta = json.loads((folder / "state.json").read_text())
        TrainerState(**meta["trainer"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"{folder / 'state.json'}: unreadable ({type(error).__name__})"]
    if "files" not in meta:  # written by an older corpusmill: the files must at least load
        return [p for name in TENSOR_FILES if (p := _loads(folder / name)) is not None]
    return folder_problems(folder, meta["files"], TENSOR_FILES)


def _candidates(root: Path) -> list[Path]:
    """Checkpoint folders, the one `latest.json` names first, then the others newest first."""
    latest = read_latest(root)
    others = sorted((p for p in root.glob("ckpt-*") if p.is_dir() and p != latest), key=lambda p: p.name, reverse=True)
    return ([latest] if latest is not None and latest.is_dir() else []) + others


def intact_checkpoint(root: Path) -> Path | None:
    """The newest checkpoint folder whose files match their record (None when none is intact).
    Damaged newer folders are removed (with a warning naming file and cause) and `latest.json`
    is pointed at the one returned; a damaged `best.safetensors` discards them all (start over)."""
    if not root.is_dir():
        return None
    candidates = _candidates(root)
    best = _best_problem(root) if candidates else None
    if best is not None:
        warn(f"{best}; no intact checkpoint: training starts over")
        return None
    for i, folder in enumerate(candidates):
        problems = checkpoint_problems(folder)
        if not problems:
            if i or read_latest(root) != folder:
                write_json(root / LATEST, {"dir": folder.name})
            return folder
        nxt = candidates[i + 1].name if i + 1 < len(candidates) else None
        then = f"falling back to the previous checkpoint {nxt}" if nxt else "no intact checkpoint left: training starts over"
        warn(f"checkpoint {problems[0]}; removed it, {then}")
        shutil.rmtree(folder, ignore_errors=True)
    return None


def load_checkpoint(root: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler) -> TrainerState | None:
    """Restore weights, optimiser, scheduler and RNG state in place from the newest intact
    checkpoint (see `intact_checkpoint`); returns its `TrainerState`, or None when there is none."""
    folder = intact_checkpoint(root)
    if folder is None:
        return None
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    extra = load_file(str(folder / "optimizer.safetensors"))
    meta = json.loads((folder / "state.json").read_text())
    optimizer.load_state_dict(_optimizer_join({k: v for k, v in extra.items() if k.startswith("state.")}, meta["optimizer"]))
    scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(extra["rng.torch"])
    cuda_states = [extra[f"rng.cuda.{i}"] for i in range(torch.cuda.device_count()) if f"rng.cuda.{i}" in extra]
    if cuda_states:
        torch.cuda.set_rng_state_all(cuda_states)
    return TrainerState(**meta["trainer"])
