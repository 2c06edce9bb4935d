"""pipelines.yaml validation: errors name the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusmill.cli import main
from corpusmill.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"pipelines": {"p": {"source": {"uri": "demo://reviews", "format": "demo"}, "models": {"sentiment": {"kind": "lstm_classifier"}}}}}


def test_the_shipped_pipelines_file_is_valid():
    config = load_config(REPO / "pipelines.yaml")
    assert config.default_pipelines() == ["demo-reviews", "demo-news", "demo-shop"]
    assert config.pipeline("demo-reviews").registered_name("sentiment") == "demo-reviews-sentiment"


def test_a_source_and_one_model_is_enough():
    pipeline = parse_config(MINIMAL).pipeline("p")
    assert pipeline.clean.steps()[0][0] == "normalize"
    assert pipeline.tokenize.kind == "bpe"
    assert pipeline.registry.alias_champion == "champion"


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"models": {"sentiment": {"kind": "lstm_classifier", "hidden_size": "big"}}}, "pipelines.p.models.sentiment.lstm_classifier.hidden_size"),
        ({"models": {"sentiment": {"kind": "lstm_transformer"}}}, "pipelines.p.models.sentiment"),
        ({"clean": ["normalize", {"length": {"min_wordz": 3}}]}, "pipelines.p.clean.1.length.min_wordz"),
        ({"tokenize": {"vocab_size": -5}}, "pipelines.p.tokenize.vocab_size"),
        ({"source": {"uri": "x.csv", "format": "xlsx"}}, "pipelines.p.source.format"),
        ({"register": {"alias_champion": 3}}, "pipelines.p.register.alias_champion"),
        ({"applications": {"summaries": {"model": "nope"}}}, "applications.summaries.model"),
    ],
)
def test_errors_name_the_bad_key(patch, expected):
    data = {"pipelines": {"p": {**MINIMAL["pipelines"]["p"], **patch}}}
    with pytest.raises(ConfigError) as error:
        parse_config(data, "pipelines.yaml")
    assert expected in str(error.value)
    assert str(error.value).startswith("pipelines.yaml:")


def test_missing_source_is_named():
    with pytest.raises(ConfigError, match=r"pipelines\.p: .*give `source` \(one source\) or `sources`"):
        parse_config({"pipelines": {"p": {"models": MINIMAL["pipelines"]["p"]["models"]}}})


def test_sources_list_several_sources():
    data = {
        "pipelines": {
            "p": {
                "sources": [{"uri": "a.csv", "format": "csv", "label_column": "y"}, {"uri": "b.txt", "format": "txt"}],
                "models": MINIMAL["pipelines"]["p"]["models"],
            }
        }
    }
    pipeline = parse_config(data).pipeline("p")
    assert [s.uri for s in pipeline.sources] == ["a.csv", "b.txt"] and pipeline.source is None
    assert [s.uri for s in parse_config(MINIMAL).pipeline("p").sources] == ["demo://reviews"]


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ({"sources": [{"uri": "a.csv", "format": "csv"}, {"uri": "b.csv", "format": "csv", "columns": ["x"]}]}, "sources.1.columns"),
        ({"sources": [{"uri": "a.csv", "format": "csv"}, {"uri": "b.csv", "format": "tsvv"}]}, "pipelines.p.sources.1.format"),
        ({"source": {"uri": "a.csv", "format": "csv"}, "sources": [{"uri": "b.csv", "format": "csv"}]}, "exactly one of the two"),
        ({"source": [{"uri": "a.csv", "format": "csv"}]}, "pipelines.p.source: Value error, `source` is one source; put a list of sources under `sources`"),
        (
            {
                "source": {"uri": "a.csv", "format": "csv"},
                "models": {"clf": {"kind": "lstm_classifier", "pretrained_lm": "other"}, "other": {"kind": "lstm_classifier"}},
            },
            "models.clf.pretrained_lm: 'other' is a lstm_classifier, not an lstm_lm",
        ),
    ],
)
def test_sources_and_pretrained_lm_errors(pipeline, expected):
    data = {"pipelines": {"p": {"models": MINIMAL["pipelines"]["p"]["models"], **pipeline}}}
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        parse_config(data, "pipelines.yaml")


def test_cli_validate_exits_2_with_the_key_path(tmp_path, capsys):
    bad = tmp_path / "pipelines.yaml"
    bad.write_text("pipelines:\n  p:\n    source: {uri: 'demo://reviews', format: demo}\n    models: {m: {kind: lstm_classifier, train: {epochs: zero}}}\n")
    assert main(["validate", "--config", str(bad)]) == 2
    assert "pipelines.p.models.m.lstm_classifier.train.epochs" in capsys.readouterr().err
    assert main(["validate", "--config", str(REPO / "pipelines.yaml")]) == 0


def test_yaml_syntax_and_missing_file_are_clear(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipelines: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
