"""Checkpoints: atomic writes, crash safety, pickle-free contents, optimiser state round trip."""

from __future__ import annotations

import json

import pytest
from fsspec.implementations.local import LocalFileSystem
import torch
from safetensors import safe_open

import tasks.train.checkpoint as checkpoint
from tasks.train.checkpoint import TrainerState, atomic_write, load_checkpoint, read_latest, save_checkpoint


def tiny_setup(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (step + 1))
    return model, optimizer, scheduler


def one_step(model, optimizer, scheduler):
    model(torch.tensor([1, 2, 3])).sum().backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def test_atomic_write_leaves_the_old_file_on_a_crash(tmp_path, monkeypatch):
    target = tmp_path / "model.safetensors"
    atomic_write(target, b"old complete content")

    def crash(*args, **kwargs):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(LocalFileSystem, "mv", crash)  # the rename of the I/O layer's atomic write
    with pytest.raises(OSError):
        atomic_write(target, b"new content that never lands")
    assert target.read_bytes() == b"old complete content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"], "no temporary leftovers"


def test_crash_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, optimizer, scheduler = tiny_setup()
    one_step(model, optimizer, scheduler)
    first = save_checkpoint(tmp_path, model, optimizer, scheduler, TrainerState(global_step=1, losses=[0.5]))
    one_step(model, optimizer, scheduler)
    real_write = checkpoint.write_json

    def crash_on_state(path, obj):
        if path.name == "state.json":
            raise OSError("simulated crash half-way through a checkpoint")
        real_write(path, obj)

    monkeypatch.setattr(checkpoint, "write_json", crash_on_state)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, model, optimizer, scheduler, TrainerState(global_step=2))
    monkeypatch.undo()
    assert read_latest(tmp_path) == first
    restored = tiny_setup(seed=1)
    state = load_checkpoint(tmp_path, *restored)
    assert state.global_step == 1 and state.losses == [0.5]


def test_checkpoint_round_trip_restores_training_exactly(tmp_path):
    model, optimizer, scheduler = tiny_setup()
    one_step(model, optimizer, scheduler)
    save_checkpoint(tmp_path, model, optimizer, scheduler, TrainerState(epoch=1, global_step=1))
    expected_rng = torch.rand(3)
    one_step(model, optimizer, scheduler)
    expected = [p.detach().clone() for p in model.parameters()]

    other = tiny_setup(seed=5)
    torch.rand(7)  # disturb the RNG; the checkpoint must restore it
    state = load_checkpoint(tmp_path, *other)
    assert state.epoch == 1
    assert torch.equal(torch.rand(3), expected_rng)
    one_step(*other)
    for got, want in zip(other[0].parameters(), expected):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert other[2].get_last_lr() == scheduler.get_last_lr()


def test_checkpoint_files_are_safetensors_and_json_only(tmp_path):
    model, optimizer, scheduler = tiny_setup()
    one_step(model, optimizer, scheduler)
    for step in range(1, 4):
        save_checkpoint(tmp_path, model, optimizer, scheduler, TrainerState(global_step=step))
    folders = sorted(p for p in tmp_path.glob("ckpt-*"))
    assert len(folders) == 2, "keeps the latest and the previous checkpoint only"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".safetensors", ".json"}
    for path in files:
        assert path.read_bytes()[:2] != b"\x80\x04" and b"\x80\x02" != path.read_bytes()[:2], f"{path} looks pickled"
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            with safe_open(str(path), framework="pt") as fh:
                assert list(fh.keys())
