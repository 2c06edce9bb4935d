"""`evaluate.metric` must be a test metric the kind of each model reports: a config error otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusmill.cli import main
from corpusmill.config import ConfigError, load_config, parse_config
from tasks.evaluate.config import EvaluateConfig
from tasks.train.kinds import KINDS, promotion_metric, reports_metric

REPO = Path(__file__).resolve().parents[2]
SOURCE = {"uri": "demo://reviews", "format": "demo"}


def _config(models: dict, evaluate: dict | None = None) -> dict:
    pipeline = {"source": SOURCE, "models": models}
    if evaluate is not None:
        pipeline["evaluate"] = evaluate
    return {"pipelines": {"p": pipeline}}


def test_a_metric_the_classifier_does_not_report_names_pipeline_model_metric_and_the_kinds_metrics():
    with pytest.raises(ConfigError) as err:
        parse_config(_config({"clf": {"kind": "lstm_classifier"}}, {"metric": "rouge_l"}))
    line = next(line for line in str(err.value).splitlines() if "rouge_l" in line)
    assert "pipelines.p.evaluate.metric" in line and "'clf'" in line and "lstm_classifier" in line
    for reported in ("accuracy", "macro_f1", "roc_auc", "gain_over_baseline_accuracy"):
        assert reported in line


@pytest.mark.parametrize(
    ("models", "evaluate"),
    [
        ({"rec": {"kind": "lstm_recommender"}}, {"metric": "hit_rate"}),
        ({"rec": {"kind": "lstm_recommender"}}, {"metric": "hit_at_10", "exposure": {"k": 20}}),
        ({"lm": {"kind": "lstm_lm"}}, {"metric": "accuracy"}),
        ({"lm": {"kind": "lstm_lm"}}, {"metric": "gain_over_baseline_perplexity", "baseline": "none"}),
        ({"s": {"kind": "lstm_summarizer"}}, {"metric": "macro_f1"}),
    ],
)
def test_unreported_metrics_are_refused_for_every_kind(models, evaluate):
    with pytest.raises(ConfigError, match="pipelines.p.evaluate.metric"):
        parse_config(_config(models, evaluate))


def test_reported_metrics_are_accepted_and_unset_means_the_kinds_own():
    parse_config(_config({"rec": {"kind": "lstm_recommender"}}, {"metric": "hit_at_20", "exposure": {"k": 20}}))
    parse_config(_config({"clf": {"kind": "lstm_classifier"}}, {"metric": "f1.positive"}))
    parse_config(_config({"lm": {"kind": "lstm_lm"}}, {"metric": "gain_over_baseline_perplexity"}))
    config = parse_config(_config({"rec": {"kind": "lstm_recommender"}, "clf": {"kind": "lstm_classifier"}}))
    evaluate = config.pipeline("p").evaluate
    assert evaluate.metric is None
    assert promotion_metric("lstm_recommender", evaluate) == ("ndcg_at_10", True)
    assert promotion_metric("lstm_classifier", evaluate) == ("macro_f1", True)
    assert promotion_metric("lstm_lm", evaluate) == ("perplexity", False)


def test_an_unset_metric_whose_kind_default_is_not_reported_is_refused():
    with pytest.raises(ConfigError, match="unset, and lstm_recommender's own metric 'ndcg_at_10' is not"):
        parse_config(_config({"rec": {"kind": "lstm_recommender"}}, {"exposure": {"k": 20}}))


def test_a_baseline_gate_needs_a_baseline_gain_on_the_metric():
    with pytest.raises(ConfigError, match="pipelines.p.evaluate.min_gain_over_baseline: model 'rec' has no 'gain_over_baseline_ndcg_at_10'"):
        parse_config(_config({"rec": {"kind": "lstm_recommender"}}, {"min_gain_over_baseline": 0.01}))
    with pytest.raises(ConfigError, match="'gain_over_baseline_accuracy'"):
        parse_config(_config({"clf": {"kind": "lstm_classifier"}}, {"metric": "accuracy", "baseline": "none", "min_gain_over_baseline": 0.01}))
    parse_config(_config({"clf": {"kind": "lstm_classifier"}}, {"metric": "accuracy", "min_gain_over_baseline": 0.01}))


def test_an_lm_that_only_warm_starts_a_classifier_is_judged_on_its_own_metric():
    models = {"lm": {"kind": "lstm_lm"}, "clf": {"kind": "lstm_classifier", "pretrained_lm": "lm"}}
    evaluate = parse_config(_config(models, {"metric": "accuracy"})).pipeline("p").evaluate
    assert promotion_metric("lstm_classifier", evaluate) == ("accuracy", True)
    assert promotion_metric("lstm_lm", evaluate) == ("perplexity", False)


def test_every_kinds_default_promotion_metric_is_one_it_reports():
    evaluate = EvaluateConfig()
    for name in KINDS:
        metric, _ = promotion_metric(name, evaluate)
        assert reports_metric(name, evaluate, metric), name


@pytest.mark.parametrize("name", ["pipelines.yaml", "infra/pipelines.stack.yaml"])
def test_the_shipped_files_still_validate(name):
    config = load_config(REPO / name)
    for pipeline in config.pipelines.values():
        for model in pipeline.models.values():
            metric, _ = promotion_metric(model.kind, pipeline.evaluate)
            assert reports_metric(model.kind, pipeline.evaluate, metric)


def test_cli_validate_says_it_in_one_line(tmp_path, capsys):
    path = tmp_path / "pipelines.yaml"
    path.write_text(
        "pipelines:\n  p:\n    source: {uri: 'demo://reviews', format: demo}\n    models: {clf: {kind: lstm_classifier}}\n    evaluate: {metric: rouge_l}\n"
    )
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "rouge_l" in err and "macro_f1" in err and "clf" in err
