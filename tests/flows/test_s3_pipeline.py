"""A tiny pipeline whose `data_uri` is on S3 (moto server) through every stage: ingest, clean,
audit, tokenize, train, evaluate, register and scoring; every dataset lands on S3 and nothing is
written under the workspace's local `data/` folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CONFIG = """
workspace: {workspace}
data_uri: s3://corpusmill-test/data
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  demo-reviews:
    source: {{uri: "demo://reviews", format: demo, label_column: label, columns: [author_age_group], rows: 300, seed: 3}}
    clean: [normalize, {{length: {{min_words: 3}}}}, exact_dedup, pii]
    audit:
      gates: [{{name: label_rate_gap, metric: max_label_rate_gap, threshold: 0.1, action: mitigate}}]
      mitigation: reweight
      model: {{bootstrap: 10, max_counterfactual_gap: null, max_subgroup_auc_gap: null}}
    tokenize: {{vocab_size: 500}}
    models:
      sentiment: {{kind: lstm_classifier, embedding_dim: 16, hidden_size: 16, train: {{epochs: 1, progress: false}}}}
  demo-news:
    source: {{uri: "demo://news", format: demo, label_column: label, columns: [summary], rows: 60, seed: 3}}
    clean: [normalize]
    tokenize: {{vocab_size: 400}}
    models:
      summarizer: {{kind: lstm_summarizer, embedding_dim: 16, hidden_size: 16, train: {{epochs: 1, progress: false}}}}
    evaluate: {{metric: rouge1_f}}
    applications:
      summaries: {{model: summarizer, demo_input_rows: 8}}
"""
STAGES = ("raw", "clean", "quarantine", "audit", "tokens")


@pytest.fixture(scope="module")
def s3_run(prefect_harness, tmp_path_factory):
    import fsspec
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"key": "testing", "secret": "testing", "endpoint_url": f"http://{host}:{port}"}
    old_conf, old_uri = fsspec.config.conf.get("s3"), os.environ.get("MLFLOW_TRACKING_URI")
    fsspec.config.conf["s3"] = options  # what FSSPEC_S3_ENDPOINT_URL etc. set in a fresh process
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    fs.mkdir("corpusmill-test")
    root = tmp_path_factory.mktemp("s3pipe")
    config = root / "pipelines.yaml"
    config.write_text(CONFIG.format(workspace=root / "ws"), encoding="utf-8")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root}/mlflow.db"
    try:
        from flows.corpus_to_model import corpus_to_model_flow
        from flows.score_summaries import score_summaries_flow

        results = {name: corpus_to_model_flow(pipeline=name, config_path=str(config), workspace=str(root / "ws")) for name in ("demo-reviews", "demo-news")}
        results["scores"] = score_summaries_flow(pipeline="demo-news", config_path=str(config), workspace=str(root / "ws"))
        yield {"fs": fs, "root": root, "results": results}
    finally:
        if old_conf is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = old_conf
        if old_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_uri
        server.stop()


def test_every_stage_manifest_is_on_s3(s3_run):
    fs = s3_run["fs"]
    for name, model in (("demo-reviews", "sentiment"), ("demo-news", "summarizer")):
        for stage in (*STAGES, f"evaluate/{model}"):
            assert fs.exists(f"corpusmill-test/data/{name}/{stage}/_manifest.json"), f"{name}/{stage}"
        assert s3_run["results"][name]["models"][model]["registered"]["alias"] == "champion"
    assert not (Path(s3_run["root"]) / "ws" / "data").exists()


def test_plots_reports_and_tokenizer_are_on_s3(s3_run):
    fs = s3_run["fs"]
    base = "corpusmill-test/data/demo-reviews"
    assert fs.exists(f"{base}/tokens/tokenizer.json")
    assert fs.exists(f"{base}/audit/report.html") and fs.find(f"{base}/audit/plots")
    assert fs.exists(f"{base}/evaluate/sentiment/plots/confusion_matrix.png")
    assert not [p for p in fs.find("corpusmill-test") if "/_work/" in p or ".tmp-" in p]


def test_scores_are_on_s3(s3_run):
    scored = s3_run["results"]["scores"]
    assert scored["new_rows"] > 0 and scored["output"].startswith("s3://")
    assert s3_run["fs"].glob("corpusmill-test/data/demo-news/scores/summaries/model_version=1/*.parquet")
