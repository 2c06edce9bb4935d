"""Bundles and checkpoints carry the sha256 of each file (in the JSON beside it), checked at load:
a damaged bundle is named, a damaged last checkpoint falls back to the previous good one, and a
reused training whose bundle changed is retrained to the same weights."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tasks.common.dataset import DatasetHandle
from tasks.common.errors import IntegrityError
from tasks.train.bundle import bundle_problems, load_bundle, save_bundle
from tasks.train.checkpoint import LATEST, TrainerState, load_checkpoint, read_latest, save_checkpoint
from tasks.train.kinds import get_kind
from tasks.train.models.lstm_classifier import ClassifierConfig
from tasks.train.prefect_tasks import train_one
from tests.tasks.train.test_checkpoint import tiny_setup
from tests.tasks.train.test_prefect_tasks import job as train_job


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.fixture
def bundle_dir(tokenizer, tmp_path) -> Path:
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8)
    kind = get_kind("lstm_classifier")
    model = kind.build(cfg, {"labels": ["neg", "pos"]}, tokenizer.get_vocab_size())
    return save_bundle(tmp_path / "bundle", kind.name, cfg, model, {"labels": ["neg", "pos"]}, tokenizer)


@pytest.mark.parametrize("damage", [flip, truncate])
def test_a_damaged_bundle_is_refused_naming_the_file(bundle_dir, damage):
    assert bundle_problems(bundle_dir) == []
    load_bundle(bundle_dir)
    damage(bundle_dir / "model.safetensors")
    problems = bundle_problems(bundle_dir)
    assert len(problems) == 1 and "model.safetensors" in problems[0]
    with pytest.raises(IntegrityError, match=r"bundle/model.safetensors: (size|sha256)"):
        load_bundle(bundle_dir)


def two_checkpoints(root: Path):
    model, optimizer, scheduler = tiny_setup()
    first = save_checkpoint(root, model, optimizer, scheduler, TrainerState(global_step=3))
    model[1].weight.data += 1
    second = save_checkpoint(root, model, optimizer, scheduler, TrainerState(global_step=6))
    return first, second


@pytest.mark.parametrize("damage", [flip, truncate])
@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors", "state.json"])
def test_a_damaged_last_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog, damage, name):
    first, second = two_checkpoints(tmp_path)
    assert read_latest(tmp_path) == second
    damage(second / name)
    with caplog.at_level(logging.WARNING):
        state = load_checkpoint(tmp_path, *tiny_setup(seed=1))
    assert state is not None and state.global_step == 3
    assert second.name in caplog.text and name in caplog.text and first.name in caplog.text


def test_no_good_checkpoint_means_starting_over_with_a_warning(tmp_path, caplog):
    first, second = two_checkpoints(tmp_path)
    truncate(second / "model.safetensors")
    flip(first / "model.safetensors")
    with caplog.at_level(logging.WARNING):
        assert load_checkpoint(tmp_path, *tiny_setup(seed=1)) is None
    assert "no intact checkpoint" in caplog.text


def test_a_garbage_latest_pointer_falls_back(tmp_path, caplog):
    two_checkpoints(tmp_path)
    (tmp_path / LATEST).write_text('{"dir": ')
    with caplog.at_level(logging.WARNING):
        state = load_checkpoint(tmp_path, *tiny_setup(seed=1))
    assert state is not None and state.global_step == 6


def test_a_reused_training_with_a_damaged_bundle_is_retrained_to_the_same_weights(tokens_uri, tmp_path, caplog, one_torch_thread):
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8, dropout=0.0, train={"epochs": 1, "batch_size": 32, "progress": False})
    job = train_job(tokens_uri, tmp_path, "m", cfg=cfg)
    first = train_one(job)
    want = {k: v.clone() for k, v in load_file(f"{first.bundle_dir}/model.safetensors").items()}  # load_file maps the file
    assert train_one(job).run_id == first.run_id  # intact: reused
    flip(Path(first.bundle_dir) / "model.safetensors")
    with caplog.at_level(logging.WARNING):
        again = train_one(job)
    assert "model.safetensors" in caplog.text and "retraining" in caplog.text
    got = load_file(f"{again.bundle_dir}/model.safetensors")
    for name, value in want.items():
        torch.testing.assert_close(got[name], value, rtol=0, atol=0)


def test_training_refuses_a_tampered_tokens_input(tokens_uri, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["x"]}), Path(DatasetHandle(tokens_uri).path) / "part-00000.parquet")
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8, train={"epochs": 1, "progress": False})
    job = train_job(tokens_uri, tmp_path, "m", cfg=cfg)
    with pytest.raises(IntegrityError, match="tokens/part-00000.parquet: size"):
        train_one(job)


def test_the_weights_hash_is_the_registry_tag(bundle_dir):
    from tasks.register.log_model import file_hash
    from tasks.train.bundle import weights_hash

    assert weights_hash(bundle_dir) == file_hash(bundle_dir / "model.safetensors")
    before = weights_hash(bundle_dir)
    flip(bundle_dir / "model.safetensors")
    assert weights_hash(bundle_dir) != before
