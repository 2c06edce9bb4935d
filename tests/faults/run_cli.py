"""Helpers of the corruption and degenerate-input cases: a tiny corpus and config in a temporary
folder, and `corpusmill run` / `validate` in a subprocess (the repo's code first on PYTHONPATH).

Runs report to the session's Prefect test server (`prefect_harness`) through PREFECT_API_URL,
so each run skips starting its own temporary server (about 20 s on a busy 2-core machine).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POSITIVE = ["great", "lovely", "wonderful", "good", "fine"]
NEGATIVE = ["awful", "boring", "terrible", "bad", "dull"]
FILLER = ["the", "film", "was", "really", "quite", "story", "acting", "and", "so", "plot"]

CONFIG = """
workspace: {workspace}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  tiny:
    source: {source}
    ingest: {{shard_bytes: 4096}}
    clean: {clean}
    audit: {{model: {{bootstrap: 5, max_counterfactual_gap: null, max_subgroup_auc_gap: null}}}}
    tokenize: {{vocab_size: 120}}
    models:
      clf: {{kind: lstm_classifier, embedding_dim: 8, hidden_size: 8,
             train: {{epochs: 1, batch_size: 16, checkpoint_every_steps: 3, progress: false}}}}
"""


def write_reviews(path: Path, rows: int = 160, labels: tuple[str, ...] = ("positive", "negative"), seed: int = 0) -> Path:
    """A JSON-lines file of `rows` short reviews (text, label) cycling through `labels`."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(rows):
            label = labels[i % len(labels)]
            words = [rng.choice(FILLER) for _ in range(rng.randint(4, 9))]
            words.insert(rng.randint(0, len(words)), rng.choice(NEGATIVE if "neg" in label.lower() else POSITIVE))
            handle.write(json.dumps({"text": " ".join(words) + f" r{i}", "label": label}) + "\n")
    return path


def write_config(folder: Path, source: str, clean: str = "[normalize, {length: {min_words: 3}}, exact_dedup]") -> Path:
    """pipelines.yaml with one pipeline `tiny` (workspace `folder/ws`); `source` is a YAML flow mapping."""
    path = folder / "pipelines.yaml"
    path.write_text(CONFIG.format(workspace=folder / "ws", source=source, clean=clean), encoding="utf-8")
    return path


def corpusmill(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """`python -m corpusmill.cli <args>` from the repo root with the test's environment (offline
    switches, PREFECT_API_URL of the test server) and this checkout first on PYTHONPATH."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("MLFLOW_TRACKING_URI", None)  # the run uses its workspace's store
    if PREFECT_API_URL.value():
        env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    return subprocess.run([sys.executable, "-m", "corpusmill.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr of a run, for asserts and failure messages."""
    return result.stdout + result.stderr


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last non-empty line of stderr (where the CLI prints its one-line error)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""
