"""The end-of-run summary says what each figure counts and which fairness verdict decided the alias."""

from __future__ import annotations

from pathlib import Path

from corpusmill.summary import render_summary
from corpusmill.workspace import Workspace

RESULT = {
    "raw": {"rows": 3000, "reused": False},
    "clean": {"rows": 2802, "reused": False},
    "quarantine": {"rows": 198, "reused": False},
    "tokens": {"rows": 2802, "reused": False},
    "audit": {"rows": 242, "reused": False, "headline": "2802 docs, 15 groups present, gates not passed: label_rate_gap"},
    "models": {
        "sentiment": {
            "metrics": {"accuracy": 0.98},
            "registered": {
                "name": "demo-reviews-sentiment",
                "version": "1",
                "alias": "challenger",
                "reason": "not promoted: fairness gates failed: gap 0.3",
                "fairness": "failed: counterfactual gap 0.3 on en/religion vs limit 0.2",
            },
        }
    },
}


def test_audit_records_are_not_shown_as_rows_and_the_fairness_verdict_is(tmp_path: Path) -> None:
    text = render_summary({"demo-reviews": RESULT}, Workspace.at(tmp_path), {}, 1.0)
    assert "rows:     raw=3000  clean=2802  quarantine=198  tokens=2802" in text
    assert "audit=242" not in text
    assert "(242 report records: groups, filter impact, nPMI, gates)" in text
    assert "fairness verdict: failed: counterfactual gap 0.3 on en/religion vs limit 0.2" in text


def test_the_run_owned_prefect_server_is_not_shown_as_a_server(tmp_path: Path, monkeypatch, capsys) -> None:
    """`corpusmill run` starts a Prefect API server of its own (gone after the run): the summary
    points at `make ui`, not at that URL; a real server (the stack's) is shown."""
    from corpusmill.summary import print_summary

    ws = Workspace.at(tmp_path)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:51323/api")
    print_summary({}, ws, ws.environment(), 1.0, run_owned_api="http://127.0.0.1:51323/api")
    text = capsys.readouterr().out
    assert "51323" not in text and "See the runs: `make ui`" in text
    print_summary({}, ws, ws.environment(), 1.0, run_owned_api=None)
    assert "Prefect: http://127.0.0.1:51323" in capsys.readouterr().out
