"""bench.mitigation: the variant configs it runs are the shipped block plus only the audit switch,
they validate as a corpusmill config, and the table row reads a real report's fields."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bench.mitigation import read_outcome, row, variant_config
from corpusmill.config import parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_variant_config_changes_only_the_audit_switch():
    data = yaml.safe_load((ROOT / "pipelines.yaml").read_text(encoding="utf-8"))
    for mitigation in ("none", "counterfactual", "reweight"):
        out = variant_config(data, "sst2", mitigation, pairs=[["american", "indian"]])
        block = out["pipelines"]["sst2"]
        assert list(out["pipelines"]) == ["sst2"]
        assert block["audit"]["mitigation"] == mitigation
        assert block["audit"]["mitigate_always"] is (mitigation != "none")
        shipped = data["pipelines"]["sst2"].get("audit", {})
        assert block["audit"]["counterfactual_pairs"] == [*shipped.get("counterfactual_pairs", []), ["american", "indian"]]
        assert {k: v for k, v in block["audit"].items() if k not in ("mitigation", "mitigate_always", "counterfactual_pairs")} == {
            k: v for k, v in shipped.items() if k not in ("mitigation", "mitigate_always", "counterfactual_pairs")
        }
        assert {k: v for k, v in block.items() if k != "audit"} == {k: v for k, v in data["pipelines"]["sst2"].items() if k != "audit"}
        parse_config(out, "variant")  # a valid corpusmill config
    # the shipped block is not modified by building variants
    assert data["pipelines"]["sst2"] == yaml.safe_load((ROOT / "pipelines.yaml").read_text(encoding="utf-8"))["pipelines"]["sst2"]


def test_row_reports_gap_interval_failing_axes_and_alias(tmp_path):
    evaluate = tmp_path / "data" / "p" / "evaluate" / "sentiment"
    evaluate.mkdir(parents=True)
    axes = [
        {"language": "en", "axis": "age", "mean_gap": 0.05, "ci_low": 0.01, "ci_high": 0.09, "high_group": "young", "low_group": "old"},
        {"language": "en", "axis": "nationality", "mean_gap": 0.33, "ci_low": 0.22, "ci_high": 0.41, "high_group": "indian", "low_group": "american"},
    ]
    report = {"metrics": {"accuracy": 0.8, "baseline_accuracy": 0.79}, "fairness_passed": False, "fairness_reason": "x", "probe": {"axes": axes}}
    (evaluate / "report.json").write_text(json.dumps(report))
    outcome = read_outcome(tmp_path, "p")
    assert outcome["model"] == "sentiment" and outcome["mitigation_headline"] is None
    line = row("none", outcome, 12.3, limit=0.1)
    assert "0.8000" in line and "0.7900" in line
    assert "0.330 [0.220, 0.410] en/nationality (indian > american)" in line
    assert "| nationality |" in line and "challenger" in line


def test_drop_pairs_keeps_only_the_extra_pairs():
    data = yaml.safe_load((ROOT / "pipelines.yaml").read_text(encoding="utf-8"))
    block = variant_config(data, "sst2", "counterfactual", drop_pairs=True)["pipelines"]["sst2"]
    assert "counterfactual_pairs" not in block["audit"]
    block = variant_config(data, "sst2", "counterfactual", pairs=[["a", "b"]], drop_pairs=True)["pipelines"]["sst2"]
    assert block["audit"]["counterfactual_pairs"] == [["a", "b"]]
