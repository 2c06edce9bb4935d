"""The kind registry and the `ModelConfig` union as parsed from YAML."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from tasks.train.kinds import KINDS, ModelConfig, get_kind
from tasks.train.models.lstm_classifier import ClassifierConfig

ADAPTER = TypeAdapter(dict[str, ModelConfig])


def test_models_section_parses_by_kind_with_defaults():
    models = ADAPTER.validate_python({"sentiment": {"kind": "lstm_classifier", "hidden_size": 64, "train": {"epochs": 2}}, "lm": {"kind": "lstm_lm"}})
    assert isinstance(models["sentiment"], ClassifierConfig)
    assert models["sentiment"].train.epochs == 2 and models["sentiment"].train.batch_size == 64
    assert models["lm"].seq_len == 64


def test_bad_keys_are_named_with_their_path():
    with pytest.raises(ValidationError) as err:
        ADAPTER.validate_python({"sentiment": {"kind": "lstm_classifier", "train": {"epochz": 2}}})
    assert "sentiment.lstm_classifier.train.epochz" in str(err.value)
    with pytest.raises(ValidationError, match="lstm_classifier"):
        ADAPTER.validate_python({"x": {"kind": "cnn"}})


def test_every_registered_kind_has_a_matching_config():
    for name, kind in KINDS.items():
        assert get_kind(name).name == name
        assert kind.config_class().kind == name
        assert kind.mode in ("max", "min")
    with pytest.raises(KeyError, match="known"):
        get_kind("nope")
