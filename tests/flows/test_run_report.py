"""The Markdown a person reads in Prefect: the corpus-to-model summary and each scoring run's result."""

from __future__ import annotations

from flows.run_report import summary_markdown
from flows.scoring import scoring_markdown

RESULT = {
    "raw": {"rows": 600, "reused": False, "uri": "/ws/data/p/raw"},
    "clean": {"rows": 577, "reused": False, "uri": "/ws/data/p/clean"},
    "quarantine": {"rows": 23, "reused": True, "uri": "/ws/data/p/quarantine"},
    "audit": {"rows": 239, "headline": "577 docs, 15 groups present, gates not passed: label_rate_gap", "mitigation": "reweight"},
    "models": {
        "sentiment": {
            "metrics": {"accuracy": 0.62, "fairness_passed": True},
            "registered": {"name": "p-sentiment", "version": "2", "alias": "challenger", "reason": "not promoted: no better", "fairness": "passed (gap 0.01)"},
        }
    },
}


def test_summary_has_rows_audit_metrics_alias_verdict_and_links() -> None:
    links = {"sentiment": {"MLflow run": "http://127.0.0.1:5000/#/experiments/1/runs/abc?workflowType=machine_learning"}}
    text = summary_markdown("p", RESULT, links)
    assert "| raw | 600 | no | `/ws/data/p/raw` |" in text and "| quarantine | 23 | yes |" in text
    assert "**Audit:** 577 docs, 15 groups present" in text and "mitigation: reweight; 239 report records" in text
    assert "- test: accuracy=0.62" in text and "fairness_passed" not in text
    assert "- registered: v2 alias `challenger`: not promoted: no better" in text
    assert "- fairness verdict: passed (gap 0.01)" in text
    assert "- [MLflow run](http://127.0.0.1:5000/#/experiments/1/runs/abc?workflowType=machine_learning)" in text


def test_a_data_only_summary_says_no_model_was_trained() -> None:
    assert "No model trained in this run (data stages only)." in summary_markdown("p", {"raw": RESULT["raw"]}, {})


def test_scoring_result_says_rows_unit_version_and_output() -> None:
    text = scoring_markdown(
        "recommendations",
        {
            "model": "shop-recommender",
            "version": "3",
            "input": "/in",
            "output": "/ws/scores/recommendations",
            "new_partitions": ["d1.parquet"],
            "new_rows": 20,
            "total_rows": 40,
        },
    )
    assert text.startswith("# recommendations: 20 users scored")
    assert "| shop-recommender | 3 | 20 | 40 | `/ws/scores/recommendations` |" in text and "| d1.parquet |" in text
    nothing = scoring_markdown(
        "summaries", {"model": "m", "version": "1", "input": "/in", "output": "/out", "new_partitions": [], "new_rows": 0, "total_rows": 12}
    )
    assert "0 documents scored" in nothing and "nothing new to score" in nothing
