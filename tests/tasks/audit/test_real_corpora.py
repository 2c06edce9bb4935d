import pandas as pd
import pyarrow as pa

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import count_shard, merge_counts
from tasks.audit.corpus_report import build_report
from tasks.audit.mitigate import reweight_weights
from tasks.audit.report import render_markdown

CFG = AuditConfig()


def _table(frame: pd.DataFrame, id_col: str | None, text_col: str, label_col: str) -> pa.Table:
    ids = frame[id_col].astype(str) if id_col else pd.Series([f"r{i}" for i in range(len(frame))])
    return pa.table({"id": ids.tolist(), "text": frame[text_col].astype(str).tolist(), "label": frame[label_col].astype(str).tolist()})


def _audit_in_shards(table: pa.Table, shard_rows: int):
    parts = [count_shard(table.slice(i, shard_rows), CFG) for i in range(0, table.num_rows, shard_rows)]
    return build_report(merge_counts(parts, CFG.npmi_vocab_size), None, CFG)


def test_audit_imdb_5k(shared_data):
    table = _table(pd.read_csv(shared_data / "imdb_5k" / "movie_review.csv"), "id", "review", "sentiment")
    report = _audit_in_shards(table, 2000)
    assert report.total_docs == 5000 and report.label_docs == {"0": 2483, "1": 2517}
    docs = {(r.axis, r.group): r.docs for r in report.groups}
    assert docs[("gender", "male")] > 3000 and docs[("gender", "female")] > 1500  # he/his/man are everywhere
    for r in report.groups:
        if r.label_rate is not None:
            assert r.ci_low <= r.label_rate <= r.ci_high
            assert (r.gap_ci_low > 0 or r.gap_ci_high < 0) == r.gap_excludes_zero
    assert {g.name for g in report.gates} == {"label_rate_gap", "filter_impact"}
    assert all(g.action == "warn" for g in report.gates)
    assert any(r.axis == "gender" for r in report.npmi)
    assert "## Label rates by group" in render_markdown(report)


def test_audit_sst2_and_reweighting(shared_data):
    frame = pd.read_csv(shared_data / "sst2" / "train.tsv", sep="\t")
    table = _table(frame, None, "sentence", "label")
    report = _audit_in_shards(table, 4000)
    assert report.total_docs == 6920 and report.label_docs == {"0": 3310, "1": 3610}
    assert report.groups_present > 10
    weights = reweight_weights(table, CFG).to_numpy()
    assert abs(weights.mean() - 1.0) < 1e-4 and weights.min() > 0
