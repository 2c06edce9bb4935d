"""An interactions pipeline end to end at tiny size: MovieLens-shaped u.data + u.item read by the
normal ingest, the recommender trained, evaluated against popularity and item-kNN (logged to
MLflow), the exposure gate deciding the alias, and windows of new events scored once each."""

from __future__ import annotations

import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient

from tasks.score.incremental import write_input_partition

GENRES = ["Action", "Comedy", "Drama"]
CONFIG = """
workspace: {ws}
pipelines:
  ml:
    source: {{uri: "{root}/u.data", format: tsv, csv_column_names: [user_id, item_id, rating, ts]}}
    interactions:
      time_column: ts
      rating_column: rating
      items: {{uri: "{root}/u.item", format: csv, csv_delimiter: "|", csv_quoting: false, encoding: latin-1,
               csv_column_names: [item_id, title, Action, Comedy, Drama], id_column: item_id, text_column: title,
               flag_columns: [Action, Comedy, Drama]}}
    clean: [normalize]
    tokenize: {{vocab_size: 200}}
    split: {{stratify_column: null}}
    models:
      rec: {{kind: lstm_recommender, embedding_dim: 16, hidden_size: 16, text_features: true,
             train: {{epochs: 3, batch_size: 8, lr: 0.02, progress: false}}}}
    evaluate: {{metric: ndcg_at_10, exposure: {{max_exposure_gini: {gini}}}}}
    applications:
      recommendations: {{model: rec}}
"""


def write_movielens_like(root, users: int = 40, items: int = 30, length: int = 10) -> None:
    """Users walk a ring of items (next item = successor); tab-separated u.data, latin-1 u.item."""
    rng = random.Random(0)
    lines = []
    for u in range(1, users + 1):
        start = rng.randrange(items)
        lines += [f"{u}\t{(start + t) % items + 1}\t{rng.randint(1, 5)}\t{1000 + 10 * t}" for t in range(length)]
    (root / "u.data").write_text("\n".join(lines) + "\n")
    titles = [f"{i}|Film {i} été|" + "|".join("1" if (i + g) % 3 == 0 else "0" for g in range(3)) for i in range(1, items + 1)]
    (root / "u.item").write_bytes(("\n".join(titles) + "\n").encode("latin-1"))


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory):
    from flows.corpus_to_model import corpus_to_model_flow
    from flows.score_recommendations import score_recommendations_flow

    root = tmp_path_factory.mktemp("ml")
    write_movielens_like(root)
    ws = root / "ws"
    ws.mkdir()
    config = root / "pipelines.yaml"
    config.write_text(CONFIG.format(ws=ws, root=root, gini=0.01))  # a limit no model meets: challenger
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{ws}/mlflow.db"
    try:
        result = corpus_to_model_flow(pipeline="ml", config_path=str(config), workspace=str(ws))
        client = MlflowClient()
        client.set_registered_model_alias("ml-rec", "champion", "1")  # to score with it anyway
        inbox = ws / "data" / "ml" / "inbox" / "recommendations"
        window = pa.table({"user_id": [3, 3, 7], "item_id": [5, 6, 9], "ts": pa.array([5000, 5001, 5002], pa.int64())})
        write_input_partition(str(inbox), "2026-11-30T10.parquet", window)
        first = score_recommendations_flow(pipeline="ml", config_path=str(config), workspace=str(ws))
        second = score_recommendations_flow(pipeline="ml", config_path=str(config), workspace=str(ws))
        yield {"result": result, "first": first, "second": second, "ws": ws, "client": client}
    finally:
        if old is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old


def test_ingest_reads_interactions_with_item_texts(run):
    raw = pq.read_table(run["ws"] / "data" / "ml" / "raw")
    assert raw.num_rows == 400
    assert {"user_id", "item_id", "ts", "rating", "item_groups"} <= set(raw.column_names)
    assert all("été" in text for text in raw["text"].to_pylist())


def test_baselines_are_logged_beside_the_model_and_the_gate_decides(run):
    client = run["client"]
    version = client.get_model_version("ml-rec", "1")
    metrics = client.get_run(version.run_id).data.metrics
    for key in (
        "hit_at_10",
        "ndcg_at_10",
        "mrr",
        "coverage_at_10",
        "exposure_gini",
        "long_tail_share",
        "baseline_popularity_hit_at_10",
        "baseline_item_knn_hit_at_10",
        "lift_hit_at_10_vs_popularity",
    ):
        assert key in metrics, key
    registered = run["result"]["models"]["rec"]["registered"]
    assert registered["alias"] == "challenger" and "exposure gate failed: exposure Gini" in registered["reason"]
    report = (run["ws"] / "data" / "ml" / "evaluate" / "rec" / "plots" / "recommender_report.md").read_text()
    assert "model beats popularity by" in report and "| Action |" in report


def test_a_window_is_scored_once_for_its_active_users(run):
    first, second = run["first"], run["second"]
    assert first["new_partitions"] == ["2026-11-30T10.parquet"] and first["new_rows"] == 2
    assert second["new_rows"] == 0 and second["new_partitions"] == []
    table = pq.read_table(run["ws"] / "data" / "ml" / "scores" / "recommendations" / "model_version=1" / "2026-11-30T10.parquet")
    rows = {row["user_id"]: row for row in table.to_pylist()}
    assert set(rows) == {"3", "7"}
    assert not {"5", "6"} & set(rows["3"]["items"]) and "9" not in rows["7"]["items"]
