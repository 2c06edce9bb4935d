"""DistributedDataParallel under torchrun: two CPU processes (gloo), each on half of every global
batch, end with the weights of one process trained on the same global batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from tasks.train.distributed import DistContext
from tests.servers import free_port

WORKER = Path(__file__).with_name("ddp_worker.py")
REPO = Path(__file__).resolve().parents[3]


def _run(argv: list[str], out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*argv, str(out)], env=env, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return {"weights": load_file(str(out / "weights.safetensors")), **json.loads((out / "losses.json").read_text())}


def test_two_gloo_ranks_equal_one_process_with_the_same_global_batch(tmp_path):
    single = _run([sys.executable, str(WORKER)], tmp_path / "single")
    ddp = _run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1", f"--master_port={free_port()}", str(WORKER)],
        tmp_path / "ddp",
    )
    assert len(ddp["losses"]) == len(single["losses"]) == 30  # 3 epochs x 10 global batches
    torch.testing.assert_close(torch.tensor(ddp["losses"]), torch.tensor(single["losses"]), atol=1e-5, rtol=1e-4)
    for name, value in single["weights"].items():
        torch.testing.assert_close(ddp["weights"][name], value, atol=1e-5, rtol=1e-4, msg=name)
    ranks = [json.loads((tmp_path / "ddp" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 and sum(r["seen"]) == 240 for r in ranks)  # half of 3 x 160 each
    assert sum(json.loads((tmp_path / "single" / "rank0.json").read_text())["seen"]) == 480


def test_shard_gives_each_rank_every_world_th_example():
    batches = [[0, 1, 2, 3, 4], [5]]
    assert DistContext(rank=0, world_size=2).shard(batches) == [[0, 2, 4], [5]]
    assert DistContext(rank=1, world_size=2).shard(batches) == [[1, 3], [5]]
    assert DistContext().shard(batches) == batches
