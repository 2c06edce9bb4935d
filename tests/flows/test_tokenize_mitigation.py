"""The audit's mitigation applied by `tokenize_flow` on the demo reviews (planted skew), under one
Prefect test backend: ingest -> clean -> audit -> tokens, first with `reweight`, then `counterfactual`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from tasks.common.dataset import DatasetHandle

pytestmark = pytest.mark.slow  # one Prefect backend and eight small flow runs (~60-90 s on a shared 2-core box)

CONFIG = """
workspace: {workspace}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  skewed:
    source: {{uri: "demo://reviews", format: demo, label_column: label, rows: 400, seed: 5}}
    clean: [normalize, exact_dedup]
    audit:
      axes: [gender, religion, nationality]
      min_group_docs: 15
      mitigation: {mitigation}
      gates: [{{name: gap, metric: max_label_rate_gap, threshold: 0.05, action: mitigate}}]
    tokenize: {{vocab_size: 300}}
    models:
      sentiment: {{kind: lstm_classifier, embedding_dim: 16, hidden_size: 16}}
"""


def _run(root: Path, mitigation: str, upstream: bool) -> dict:
    from flows.audit import audit_flow
    from flows.clean import clean_flow
    from flows.ingest import ingest_flow
    from flows.tokenize import tokenize_flow

    config = root / "pipelines.yaml"
    config.write_text(CONFIG.format(workspace=root / "ws", mitigation=mitigation), encoding="utf-8")
    args = dict(pipeline="skewed", config_path=str(config), workspace=str(root / "ws"))
    if upstream:
        ingest_flow(**args)
        clean_flow(**args)
    audit = audit_flow(**args)
    return {"audit": audit, "tokens": tokenize_flow(**args), "again": tokenize_flow(**args)}


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("mitigation")
    reweight = _run(root, "reweight", upstream=True)
    reweight["table"] = DatasetHandle(reweight["tokens"]["uri"]).read_table()
    reweight["report"] = json.loads((Path(reweight["tokens"]["uri"]) / "audit_mitigated.json").read_text())
    reweight["markdown"] = (Path(reweight["tokens"]["uri"]) / "audit_mitigated.md").read_text()
    reweight["manifest"] = DatasetHandle(reweight["tokens"]["uri"]).read_manifest()
    counterfactual = _run(root, "counterfactual", upstream=False)  # same clean data, new audit config
    counterfactual["table"] = DatasetHandle(counterfactual["tokens"]["uri"]).read_table()
    counterfactual["manifest"] = DatasetHandle(counterfactual["tokens"]["uri"]).read_manifest()
    return {"root": root, "reweight": reweight, "counterfactual": counterfactual}


def test_reweighting_equalises_the_label_rates_the_model_sees(runs):
    run = runs["reweight"]
    assert run["audit"]["mitigation"] == "reweight" and run["tokens"]["mitigation"] == "reweight"
    table = run["table"]
    weights = table["weight"].to_numpy()
    train = pc.equal(table["split"], "train").to_numpy(zero_copy_only=False)
    assert np.all(weights[~train] == 1.0) and weights[train].std() > 0.05
    assert weights[train].mean() == pytest.approx(1.0, abs=1e-4)
    gaps = [(g["axis"], g["group"], abs(g["gap"])) for g in run["report"]["groups"] if g["gap"] is not None and g["docs"] >= 15]
    before = json.loads((Path(run["audit"]["uri"]) / "report.json").read_text())
    skewed = {(g["axis"], g["group"]) for g in before["groups"] if g["gap_excludes_zero"] and abs(g["gap"]) > 0.1}
    assert skewed & {(a, g) for a, g, _ in gaps}, "a group the audit flagged must be re-measured"
    assert len(gaps) >= 6 and max(gap for _, _, gap in gaps) < 0.02
    assert run["report"]["total_docs"] == int(train.sum())


def test_both_reports_are_kept_and_the_headline_is_in_the_manifest(runs):
    run = runs["reweight"]
    audit = Path(run["audit"]["uri"])
    assert (audit / "report.json").is_file() and not (audit / "audit_mitigated.json").exists()
    headline = run["manifest"].counters["mitigation_headline"]
    assert headline == run["tokens"]["mitigation_headline"] and headline in run["markdown"]
    found = re.match(r"reweight: largest label-rate gap ([+-]\d\.\d{3}) \(.*\) -> ([+-]\d\.\d{3}) \(", headline)
    assert found, headline
    assert abs(float(found.group(1))) > 0.1 and abs(float(found.group(2))) < 0.02
    assert run["again"]["reused"] and run["again"]["mitigation_headline"] == headline


def test_counterfactual_copies_are_train_only_and_swap_both_directions(runs):
    run, clean_rows = runs["counterfactual"], runs["reweight"]["tokens"]["rows"]
    assert run["tokens"]["mitigation"] == "counterfactual" and not run["tokens"]["reused"]
    rows = {r["id"]: r for r in run["table"].select(["id", "text", "split"]).to_pylist()}
    copies = {i: r for i, r in rows.items() if i.endswith("#cf")}
    assert copies and run["tokens"]["counters"]["counterfactual_rows"] == len(copies)
    assert run["tokens"]["rows"] == len(rows) == clean_rows + len(copies)
    assert {r["split"] for r in copies.values()} == {"train"}
    assert all(rows[i[:-3]]["split"] == "train" for i in copies)
    originals = [rows[i[:-3]]["text"] for i in copies]
    swapped = [r["text"] for r in copies.values()]
    pairs = [("wife", "husband"), ("sister", "brother"), ("She", "He"), ("woman", "man"), ("妻子", "丈夫")]

    def has(word: str, text: str) -> bool:
        return re.search(rf"\b{word}\b", text) is not None if word.isascii() else word in text

    assert any(has(f, o) and has(m, s) for o, s in zip(originals, swapped) for f, m in pairs)  # female -> male
    assert any(has(m, o) and has(f, s) for o, s in zip(originals, swapped) for f, m in pairs)  # male -> female
    assert (Path(run["tokens"]["uri"]) / "audit_mitigated.json").is_file()
    assert run["tokens"]["mitigation_headline"].startswith("counterfactual: largest label-rate gap")


def test_the_tokens_cache_key_follows_the_mitigation(runs):
    reweight, counterfactual = runs["reweight"]["manifest"], runs["counterfactual"]["manifest"]
    assert reweight.cache_key != counterfactual.cache_key
    assert reweight.config_hash != counterfactual.config_hash  # the applied mitigation is hashed in
    assert runs["reweight"]["again"]["reused"] and runs["counterfactual"]["again"]["reused"]
