"""Summarizer evaluation: the model, Lead-3, Lead-k and the oracle scored on the same test rows
with rouge-score; the counterfactual identity check per axis and its gate."""

from __future__ import annotations

import random

import pandas as pd
import pyarrow as pa
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from tasks.audit.config import AuditConfig
from tasks.evaluate.summarizer import baselines, evaluate_summaries, held_out_documents
from tasks.evaluate.summary_counterfactual import axis_swappers, selection_check
from tasks.train.models.lstm_summarizer import SummarizerConfig, SummarizerKind, split_sentences
from tasks.train.trainer import train_model

FILLER = ["the", "plot", "was", "and", "actors", "a", "very", "story", "good", "dull", "he", "she", "said"]


def corpus(n: int = 100, seed: int = 1) -> pa.Table:
    """Filler sentences (some with he/she) and one key sentence ("In summary ...") at a random
    position; the reference is the key sentence."""
    rng = random.Random(seed)
    texts, summaries, splits = [], [], []
    for i in range(n):
        sentences = [" ".join(rng.choice(FILLER) for _ in range(rng.randint(3, 7))).capitalize() + "." for _ in range(rng.randint(3, 6))]
        key = f"In summary {rng.choice(['prices', 'rates'])} {rng.choice(['rose', 'fell'])} sharply."
        sentences.insert(rng.randint(0, len(sentences)), key)
        texts.append(" ".join(sentences))
        summaries.append(key)
        splits.append("train" if i % 5 < 3 else "validation" if i % 5 == 3 else "test")
    return pa.table({"id": [f"d{i}" for i in range(n)], "text": texts, "summary": summaries, "split": splits, "label": pa.array([None] * n, pa.string())})


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        [" ".join(FILLER + ["In", "summary", "prices", "rates", "rose", "fell", "sharply"])], trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]"])
    )
    kind = SummarizerKind()
    cfg = SummarizerConfig(
        embedding_dim=16, hidden_size=16, dropout=0.0, train={"epochs": 4, "batch_size": 16, "lr": 0.03, "progress": False, "schedule": "constant"}
    )
    prepared = kind.prepare(corpus(), tok, cfg)
    torch.manual_seed(0)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = train_model(kind, cfg, prepared, tok.get_vocab_size(), tmp)
    meta = kind.finalize(result.model, prepared, cfg)
    assert meta["length_rule"] == {"mode": "count", "value": 1}  # one key sentence per document
    return kind.predictor(result.model.cpu(), meta, tok, cfg), cfg


def test_model_lead3_and_oracle_on_the_same_test_rows(predictor):
    model, cfg = predictor
    test = held_out_documents(corpus())
    evaluation, rows = evaluate_summaries(model, cfg, test, AuditConfig())
    m = evaluation.metrics
    assert evaluation.documents == len(rows) == test.num_rows == 20 and evaluation.rouge_tokenizer == "stem"
    for prefix in ("", "baseline_lead3_", "baseline_lead_k_", "oracle_"):
        assert {f"{prefix}rouge1_f", f"{prefix}rouge2_f", f"{prefix}rougeL_f"} <= set(m)
    assert m["oracle_rouge1_f"] == pytest.approx(1.0)  # the key sentence is the reference
    assert m["rouge1_f"] > 0.9 > m["baseline_lead3_rouge1_f"]
    assert m["rouge1_f_vs_lead3"] > 1.5 and m["mean_summary_sentences"] == 1.0
    assert "model 9" in evaluation.headline() or "model 10" in evaluation.headline()
    assert "selection_change_rate.gender" in m and m["selection_change_rate.gender"] <= 0.2
    from tasks.evaluate.config import EvaluateConfig
    from tasks.train.kinds import reports_metric

    assert [k for k in m if not reports_metric("lstm_summarizer", EvaluateConfig(), k)] == []  # declared by the kind


def test_baselines_of_one_document():
    sentences = split_sentences("One fish. Two fish. In summary rates fell. Red fish.")
    out = baselines(sentences, "In summary rates fell.", picked=2)
    assert out == {"lead3": "One fish. Two fish. In summary rates fell.", "lead_k": "One fish. Two fish.", "oracle": "In summary rates fell."}


def test_swappers_are_grouped_by_axis():
    swappers = axis_swappers(AuditConfig())
    assert swappers["gender"]("He said his father left.") == "She said her mother left."
    assert swappers["gender"]("他说。") == "她说。"
    assert "other" in swappers  # mr/mrs are in no lexicon group


def test_selection_check_rates_and_gate():
    texts = ["The rain stopped. He spoke.", "The rain stopped. She spoke.", "No identity term here."]

    def picks_she(batch):  # a selector that depends on the identity term: the biased case
        return [[i for i, s in enumerate(split_sentences(t)) if "she" in s.lower().split()] or [0] for t in batch]

    original = picks_she(texts)
    strict = AuditConfig(model={"max_selection_change_rate": 0.5})
    check = selection_check(picks_she, texts, original, strict)
    gender = next(a for a in check.axes if a.axis == "gender")
    assert (gender.documents, gender.changed, gender.rate) == (2, 2, 1.0)
    assert not check.passed and "gender 1.000 (2/2)" in check.message and "limit 0.5" in check.message
    fair = selection_check(lambda batch: [[0] for _ in batch], texts, [[0]] * 3, strict)
    assert fair.passed and fair.max_rate == 0.0
    off = selection_check(picks_she, texts, original, AuditConfig(model={"max_selection_change_rate": None}))
    assert off.passed and off.threshold is None


def test_identity_canonicalisation_makes_swaps_invisible_to_the_model(predictor):
    from tasks.train.models.identity import canonical_map, canonicaliser

    assert canonical_map([("he", "she"), ("his", "her"), ("him", "her")]) == {"he": "he", "she": "he", "his": "her", "her": "her", "him": "her"}
    swap = axis_swappers(AuditConfig())
    canonical = canonicaliser()
    for text in ["He said his father met Mr Brown and her sister.", "他说她的妈妈和爸爸来了。"]:
        swapped = swap["other"](swap["gender"](text))
        assert swapped != text and canonical(swapped) == canonical(text)
    model, _ = predictor
    texts = corpus(40, seed=5)["text"].to_pylist()
    selected = [list(s) for s in model.predict(pd.DataFrame({"text": texts}))["selected"]]
    check = selection_check(lambda xs: [list(s) for s in model.predict(pd.DataFrame({"text": xs}))["selected"]], texts, selected, AuditConfig())
    assert check.passed and check.max_rate == 0.0 and check.axes[0].documents > 5
