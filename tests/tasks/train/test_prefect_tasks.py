"""`train_one`, the train stage's unit of work: an interrupted training resumes from its last
checkpoint (bit-identical to an uninterrupted one), or starts over with `resume=False`."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import mlflow
import pytest
import torch
from safetensors.torch import load_file

import tasks.train.prefect_tasks as train_tasks
from tasks.train.models.lstm_classifier import ClassifierConfig
from tasks.train.prefect_tasks import TrainJob, train_one


class Crash(RuntimeError):
    pass


def crash_at(step: int):
    def on_step(done: int, *_: object) -> None:
        if done == step:
            raise Crash(f"simulated crash at step {done}")

    return on_step


def job(tokens_uri: str, root: Path, name: str, resume: bool = True, cfg: ClassifierConfig | None = None) -> TrainJob:
    """The train stage's job for model `m` of pipeline `p` on `tokens_uri` (folder `root/name`); by
    default a tiny classifier checkpointing every 3 steps."""
    cfg = cfg or ClassifierConfig(
        embedding_dim=8,
        hidden_size=8,
        dropout=0.0,
        train={"epochs": 2, "batch_size": 16, "progress": False, "checkpoint_every_steps": 3, "early_stopping_patience": None},
    )
    return TrainJob(
        pipeline="p",
        model_name="m",
        registered_name="p-m",
        model=cfg,
        tokens_uri=tokens_uri,
        model_dir=str(root / name),
        experiment="p",
        artifact_root=str(root / "artifacts"),
        resume=resume,
    )


def crash_once(monkeypatch, step: int):
    """Make `train_one`'s trainer raise `Crash` after `step` steps; return the real trainer."""
    original = train_tasks.train_model
    monkeypatch.setattr(train_tasks, "train_model", functools.partial(original, on_step=crash_at(step)))
    return original


def test_an_interrupted_training_resumes_to_the_same_weights(tokens_uri, tmp_path, monkeypatch, one_torch_thread):
    straight = train_one(job(tokens_uri, tmp_path, "straight"))
    original = crash_once(monkeypatch, step=5)
    with pytest.raises(Crash):
        train_one(job(tokens_uri, tmp_path, "crashed"))
    assert any((tmp_path / "crashed" / "checkpoints").rglob("*.safetensors"))
    [run_file] = (tmp_path / "crashed" / "checkpoints").rglob("mlflow_run.json")  # kept beside the checkpoint
    crashed_run = json.loads(run_file.read_text())["run_id"]
    monkeypatch.setattr(train_tasks, "train_model", original)
    resumed = train_one(job(tokens_uri, tmp_path, "crashed"))
    assert resumed.cache_key == straight.cache_key and resumed.steps == straight.steps
    want, got = (load_file(f"{straight.bundle_dir}/model.safetensors"), load_file(f"{resumed.bundle_dir}/model.safetensors"))
    for name, value in want.items():
        torch.testing.assert_close(got[name], value, rtol=0, atol=0)
    # the resumed training logged into the run of the interrupted one: one run, whole curve, FINISHED
    assert resumed.run_id == crashed_run and resumed.run_id != straight.run_id
    client = mlflow.MlflowClient()
    assert client.get_run(resumed.run_id).info.status == "FINISHED"
    # each step once: the crash at step 5 came after the checkpoint at step 3, so the resumed
    # training replays steps 4-5, which the interrupted attempt had already logged
    steps = sorted(m.step for m in client.get_metric_history(resumed.run_id, "train_loss"))
    assert steps == list(range(1, resumed.steps + 1))
    epochs = sorted(m.step for m in client.get_metric_history(resumed.run_id, "epoch_train_loss"))
    assert len(epochs) == len(set(epochs)) == 2


def test_no_resume_discards_the_interrupted_checkpoints(tokens_uri, tmp_path, monkeypatch, one_torch_thread):
    original = crash_once(monkeypatch, step=5)
    with pytest.raises(Crash):
        train_one(job(tokens_uri, tmp_path, "crashed"))
    seen: dict[str, object] = {}

    def spy(*args, **kwargs):
        checkpoints = Path(args[4])
        seen["resume"], seen["left"] = (kwargs["resume"], list(checkpoints.rglob("*.safetensors")) if checkpoints.exists() else [])
        return original(*args, **kwargs)

    monkeypatch.setattr(train_tasks, "train_model", spy)
    record = train_one(job(tokens_uri, tmp_path, "crashed", resume=False))
    assert seen == {"resume": False, "left": []}
    assert record.steps > 5
