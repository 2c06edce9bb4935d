"""The saved bundle: pickle-free files, and a round trip that predicts the same probabilities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from tasks.train.bundle import FILES, load_bundle, load_predictor, save_bundle
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.models.lstm_lm import LanguageModelConfig, LanguageModelKind

TEXTS = ["the movie was great", "awful plot", "", "unknownword good", "really " * 300]


def test_classifier_bundle_round_trip_predicts_the_same(toy_tokens, tokenizer, tmp_path):
    kind = ClassifierKind()
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8, num_layers=2, max_length=64)
    prepared = kind.prepare(toy_tokens, tokenizer, cfg)
    torch.manual_seed(0)
    model = kind.build(cfg, prepared.meta, tokenizer.get_vocab_size())
    before = kind.predictor(model, prepared.meta, tokenizer, cfg).predict(pd.DataFrame({"text": TEXTS}))
    out = save_bundle(tmp_path / "bundle", kind.name, cfg, model, prepared.meta, tokenizer)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert json.loads((out / "config.json").read_text())["config"]["num_layers"] == 2
    after = load_predictor(out).predict(pd.DataFrame({"text": TEXTS, "other": range(len(TEXTS))}))
    pd.testing.assert_frame_equal(after, before)
    assert list(after.columns) == ["label", "score", "prob_neg", "prob_pos"]


def test_predict_is_batched_and_keeps_row_order(toy_tokens, tokenizer, tmp_path):
    kind = ClassifierKind()
    cfg = ClassifierConfig(embedding_dim=8, hidden_size=8)
    prepared = kind.prepare(toy_tokens, tokenizer, cfg)
    model = kind.build(cfg, prepared.meta, tokenizer.get_vocab_size())
    save_bundle(tmp_path, kind.name, cfg, model, prepared.meta, tokenizer)
    predictor = load_predictor(tmp_path)
    texts = toy_tokens["text"].to_pylist()
    whole = predictor.predict(pd.DataFrame({"text": texts}))
    predictor.batch_rows = 7
    in_chunks = predictor.predict(pd.DataFrame({"text": texts}, index=np.arange(len(texts)) * 3))
    pd.testing.assert_frame_equal(in_chunks, whole, atol=1e-6, rtol=1e-5)
    assert len(predictor.predict(pd.DataFrame({"text": []}))) == 0


def test_language_model_bundle_round_trip(toy_tokens, tokenizer, tmp_path):
    kind = LanguageModelKind()
    cfg = LanguageModelConfig(embedding_dim=8, hidden_size=12)
    prepared = kind.prepare(toy_tokens, tokenizer, cfg)
    model = kind.build(cfg, prepared.meta, tokenizer.get_vocab_size())
    before = kind.predictor(model, prepared.meta, tokenizer, cfg).predict(pd.DataFrame({"text": TEXTS}))
    save_bundle(tmp_path, kind.name, cfg, model, prepared.meta, tokenizer)
    bundle = load_bundle(tmp_path)
    assert isinstance(bundle.config, LanguageModelConfig) and not bundle.model.training
    after = load_predictor(tmp_path).predict(pd.DataFrame({"text": TEXTS}))
    pd.testing.assert_frame_equal(after, before)
    assert np.isnan(after["perplexity"][2]) and (after["perplexity"].dropna() > 1).all()


def test_incomplete_bundle_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_predictor(tmp_path)
