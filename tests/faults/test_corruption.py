"""Corrupted outputs through the real CLI (`corpusmill run` in a subprocess): every damage is detected
on the next run, named (file and cause) in a warning, and recomputed to the same bytes as the
uncorrupted run (one model version, still champion); a later stage asked to read a tampered input
refuses it with one line naming the file and the cause."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient

from tasks.common.dataset import MANIFEST_NAME, DatasetHandle
from tasks.train.bundle import weights_hash
from tests.faults.run_cli import corpusmill, last_line, output, write_config, write_reviews

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]
DATASETS = ("raw", "clean", "quarantine", "tokens", "evaluate/clf")


def _state(ws: Path) -> dict[str, object]:
    """What must be identical after recovery: dataset content hashes, the bundle's weights, the registry."""
    data = ws / "data" / "tiny"
    state: dict[str, object] = {name: DatasetHandle(str(data / name)).require_manifest().content_hash for name in DATASETS}
    state["weights"] = weights_hash(ws / "models" / "tiny" / "clf" / "bundle")
    client = MlflowClient(tracking_uri=f"sqlite:///{ws / 'mlflow.db'}")
    state["versions"] = sorted(v.version for v in client.search_model_versions("name = 'tiny-clf'"))
    state["champion"] = client.get_model_version_by_alias("tiny-clf", "champion").version
    return state


def _swap_with_fewer_rows(part: Path) -> None:
    """Replace a Parquet part by a valid one holding its first 5 rows."""
    pq.write_table(pq.read_table(part).slice(0, 5), part, compression="zstd")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny pipeline (all stages) and its state."""
    root = tmp_path_factory.mktemp("corruption")
    write_reviews(root / "reviews.jsonl", rows=160)
    config = write_config(root, f'{{uri: "{root}/reviews.jsonl", format: jsonl, label_column: label}}')
    result = corpusmill("run", "--config", str(config))
    assert result.returncode == 0, output(result)[-4000:]
    ws = root / "ws"
    assert len(DatasetHandle(str(ws / "data" / "tiny" / "raw")).require_manifest().parts) >= 2
    return {"config": config, "ws": ws, "state": _state(ws)}


def test_every_damage_is_named_and_recomputed_to_the_same_outputs(finished):
    ws, data = finished["ws"], finished["ws"] / "data" / "tiny"
    model_dir = ws / "models" / "tiny" / "clf"
    (data / "raw" / "part-00001.parquet").unlink()  # deleted part
    _swap_with_fewer_rows(data / "clean" / "part-00000.parquet")  # valid file, fewer rows
    _truncate(data / "tokens" / MANIFEST_NAME)  # truncated manifest
    _flip(model_dir / "bundle" / "model.safetensors")  # flipped bytes in the final weights
    root = next((model_dir / "checkpoints").glob("*/checkpoints"))
    last = root / json.loads((root / "latest.json").read_text())["dir"]
    assert len(list(root.glob("ckpt-*"))) == 2
    _truncate(last / "model.safetensors")  # truncated last checkpoint

    result = corpusmill("run", "--config", str(finished["config"]))
    text = output(result)
    assert result.returncode == 0, text[-4000:]
    for expected in (
        "raw/part-00001.parquet: missing; recomputing raw",
        "clean/part-00000.parquet: size",
        "recomputing clean",
        f"tokens/{MANIFEST_NAME}: unreadable manifest",
        "recomputing tokens",
        "bundle/model.safetensors: sha256",
        "retraining tiny-clf",
        f"{last.name}/model.safetensors: size",
        "falling back to the previous checkpoint",
    ):
        assert expected in text, f"{expected!r} not in the output:\n{text[-6000:]}"
    assert _state(ws) == finished["state"]
    assert DatasetHandle(str(data / "clean")).verify() == []


def test_a_later_stage_refuses_a_tampered_input_with_one_line(finished):
    data = finished["ws"] / "data" / "tiny"
    part = data / "clean" / "part-00000.parquet"
    original = part.read_bytes()
    _swap_with_fewer_rows(part)
    try:
        result = corpusmill("run", "--stages", "tokenize", "--config", str(finished["config"]))
    finally:
        part.write_bytes(original)
    text = output(result)
    assert result.returncode == 2, text[-4000:]
    line = last_line(result)
    assert line.startswith("corpusmill: error: ") and "clean/part-00000.parquet: size" in line and "5 rows !=" in line, line
    assert "Traceback" not in text
