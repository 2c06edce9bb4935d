"""A tiny version of the default pipelines (same sources and stages, small sizes) for flow tests."""

from __future__ import annotations

from pathlib import Path

TINY_PIPELINES = """
workspace: {workspace}
runner: {{task_runner: threads, max_workers: 2}}
pipelines:
  demo-reviews:
    source: {{uri: "demo://reviews", format: demo, label_column: label, columns: [author_age_group], rows: 600, seed: 3}}
    clean: [normalize, {{length: {{min_words: 3}}}}, exact_dedup, near_dedup, pii]
    audit:
      metadata_groups: {{author_age_group: age}}
      model: {{bootstrap: 20, max_counterfactual_gap: {probe_limit}, max_subgroup_auc_gap: null}}
    tokenize: {{vocab_size: 800}}
    models:
      sentiment: {{kind: lstm_classifier, embedding_dim: 32, hidden_size: 32, train: {{epochs: 2, progress: false}}}}
  demo-news:
    source: {{uri: "demo://news", format: demo, label_column: label, columns: [summary], rows: 120, seed: 3}}
    clean: [normalize, exact_dedup]
    tokenize: {{vocab_size: 600}}
    models:
      summarizer: {{kind: lstm_summarizer, embedding_dim: 32, hidden_size: 32, train: {{epochs: 1, progress: false}}}}
    evaluate: {{metric: rouge1_f}}
    applications:
      summaries: {{model: summarizer, demo_input_rows: 12}}
  demo-shop:
    source: {{uri: "demo://interactions", format: demo, label_column: label, columns: [user_id, item_id, ts], rows: 2000, seed: 3}}
    clean: [normalize]
    tokenize: {{vocab_size: 400}}
    models:
      recommender: {{kind: lstm_recommender, embedding_dim: 32, hidden_size: 32, train: {{epochs: 1, progress: false}}}}
    evaluate: {{metric: hit_at_10}}
    applications:
      recommendations: {{model: recommender, demo_input_rows: 20}}
"""


def write_tiny_config(folder: Path, probe_limit: str = "null") -> Path:
    """Write the tiny pipelines file into `folder` (workspace `folder/ws`); return its path."""
    path = folder / "pipelines.yaml"
    path.write_text(TINY_PIPELINES.format(workspace=folder / "ws", probe_limit=probe_limit), encoding="utf-8")
    return path
