"""SIGKILL a real `corpusmill run` (its whole process group) inside every stage, then run again: the
outputs are byte-identical to an uninterrupted run, with exactly one model version and its alias,
and every MLflow run ends in a final state (issue 9, findings 2 and 6).

The kills are deterministic (`CORPUSMILL_FAULT=kill:<point>`, see `tasks.common.faults`): each run
of the chain dies at the next point, after resuming what the previous one left, so one workspace
goes through every crash once (cheaper than one fresh workspace per stage).
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.faults.harness import REGISTERED, child_environment, fingerprint, registry, run_cli, tiny_config

# (fault point, what is on disk when it fires)
POINTS = [
    ("ingest", "raw parts written, not published"),
    ("clean:mid-commit", "clean parts written, the first quarantine part published, no manifest"),
    ("audit", "audit report and record parts written, not published"),
    ("tokenize", "token parts and tokenizer written, not published"),
    ("train", "first mid-epoch checkpoint saved"),
    ("evaluate", "test predictions written and logged to the training run, not published"),
    ("register", "model version created with its tags; no card, no alias, no alias-log line"),
]


def test_sigkill_at_every_stage_then_rerun(tmp_path: Path, prefect_api: str, reference: Path) -> None:
    config = tiny_config(tmp_path)
    ws = tmp_path / "ws"
    for point, state in POINTS:
        code, out = run_cli(config, child_environment(prefect_api, CORPUSMILL_FAULT=f"kill:{point}"), name=point)
        assert code == -signal.SIGKILL, f"run was not killed at {point} ({state}); exit {code}:\n{out[-3000:]}"
        if point == "register":  # the state of finding 2: a version without alias
            before = registry(ws)
            assert before["versions"] == {"1": []}
            assert before["tags"]["1"]["registration_state"] == "created"
    code, out = run_cli(config, child_environment(prefect_api), name="final")
    assert code == 0, out[-3000:]
    assert "taking over" in out  # the killed run's lock label was found stale and said so

    assert fingerprint(ws) == fingerprint(reference)
    reg = registry(ws)
    assert reg["versions"] == {"1": ["champion"]}, "one version, with its alias"
    assert reg["tags"]["1"]["registration_state"] == "complete"
    assert len(reg["alias_log"]) == 1 and '"to_version":"1"' in reg["alias_log"][0]
    assert f"{REGISTERED} v1 alias=champion" in out
    # MLflow hygiene: no run left RUNNING; one training run, resumed after the kill, with whole curves
    assert set(reg["runs"].values()) == {"FINISHED"}, reg["runs"]
    [train_run] = reg["train_runs"]
    client = reg["client"]
    steps = [m.step for m in client.get_metric_history(train_run.info.run_id, "train_loss")]
    assert sorted(steps) == list(range(1, max(steps) + 1)), "per-step loss of the killed part is missing or doubled"
    assert [m.step for m in client.get_metric_history(train_run.info.run_id, "epoch_train_loss")] == [1]
