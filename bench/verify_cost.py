"""Cost of verified reuse: time to check a finished dataset of about `--mb` MB (sizes, full sha256 of
every part, Parquet footer row counts) against its manifest.

    python -m bench.verify_cost --mb 200 --parts 4   (from the repo root; as a module, since bench/tokenize.py shadows the stdlib module)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pyarrow as pa

from tasks.common.dataset import DatasetHandle


def main() -> None:
    """Write a dataset of random (incompressible) text parts, commit it, then time `verify()` three times."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--parts", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = DatasetHandle(f"{folder}/clean")
        rows = args.mb * 1_000_000 // args.parts // 200  # ~200 incompressible bytes per row
        parts = [
            out.write_part("k", f"part-{p:05d}.parquet", [pa.table({"text": pa.array([os.urandom(200) for _ in range(rows)], pa.binary())})])
            for p in range(args.parts)
        ]
        started = time.perf_counter()
        manifest = out.commit(stage="clean", key="k", parts=parts, inputs=[], config_hash="c", code_version="v", started=0.0)
        commit_s = time.perf_counter() - started
        size = sum(part.bytes or 0 for part in manifest.parts) / 1e6
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            assert DatasetHandle(out.uri).verify() == []
            runs.append(time.perf_counter() - started)
        print(
            f"{size:.0f} MB in {args.parts} parts: commit (move + sha256) {commit_s:.2f} s; "
            f"verify (size + sha256 + footer) min {min(runs):.2f} s, max {max(runs):.2f} s"
        )


if __name__ == "__main__":
    main()
