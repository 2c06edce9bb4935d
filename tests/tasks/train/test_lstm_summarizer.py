"""lstm_summarizer: sentence splitting (EN/ZH), ROUGE, oracle labels, learning a planted key
sentence, prediction output and the bundle round trip."""

from __future__ import annotations

import json
import random

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from tasks.train.bundle import load_predictor, save_bundle
from tasks.train.models.lstm_summarizer import (
    SummarizerConfig,
    SummarizerKind,
    join_sentences,
    lead_metrics,
    oracle_labels,
    rouge_n,
    rouge_words,
    split_sentences,
)
from tasks.train.trainer import train_model

FILLER = ["the", "movie", "was", "plot", "and", "actors", "a", "very", "really", "story", "good", "bad", "dull"]
K_BBC = 5  # BBC reference summaries keep about 40 % of an article's ~20 sentences
FAST = {"epochs": 4, "batch_size": 16, "lr": 0.03, "progress": False, "early_stopping_patience": None, "schedule": "constant"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_split_sentences_english():
    text = 'Prices rose 3.5% in May. Why? "Demand," he said! Next paragraph\n\nstarts here.'
    assert split_sentences(text) == ["Prices rose 3.5% in May.", "Why?", '"Demand," he said!', "Next paragraph", "starts here."]
    assert split_sentences("") == [] and split_sentences("  \n ") == []


def test_split_sentences_chinese():
    text = "今天下雨了。我们在家看书！你呢？“好的。”他说"
    assert split_sentences(text) == ["今天下雨了。", "我们在家看书！", "你呢？", "“好的。”", "他说"]
    assert join_sentences(["今天下雨了。", "你呢？"]) == "今天下雨了。你呢？"
    assert join_sentences(["It rained.", "We stayed."]) == "It rained. We stayed."


def test_rouge_words_and_rouge_n():
    assert rouge_words("The CAT, sat; 下雨了") == ["the", "cat", "sat", "下", "雨", "了"]
    cand, ref = "the cat sat on the mat".split(), "the cat sat on a mat".split()
    assert rouge_n(cand, ref, 1) == pytest.approx(5 / 6)
    assert rouge_n(cand, ref, 2) == pytest.approx(3 / 5)
    assert rouge_n([], ref, 1) == 0.0


def test_oracle_labels_on_literal_examples():
    sentences = [rouge_words(s) for s in ["Rain fell in Paris.", "The cat slept.", "Markets rose sharply."]]
    assert oracle_labels(sentences, rouge_words("Rain fell in Paris. Markets rose sharply.")) == [1, 0, 1]
    sentences = [rouge_words(s) for s in ["The cat sat on the mat.", "Dogs bark loudly.", "A cat and a mat."]]
    assert oracle_labels(sentences, rouge_words("the cat sat on a mat")) == [1, 0, 0]
    assert oracle_labels(sentences, rouge_words("nothing shared")) == [0, 0, 0]


def planted_corpus(n: int = 120, seed: int = 0) -> pa.Table:
    """Documents of 3-6 filler sentences with one key sentence ("In summary ...", words the toy
    tokenizer does not know) at a random position; the reference summary is the key sentence."""
    rng = random.Random(seed)
    texts, summaries, splits = [], [], []
    for i in range(n):
        sentences = [" ".join(rng.choice(FILLER) for _ in range(rng.randint(3, 7))).capitalize() + "." for _ in range(rng.randint(3, 6))]
        key = f"In summary {rng.choice(['prices', 'rates', 'sales'])} {rng.choice(['rose', 'fell'])} sharply."
        sentences.insert(rng.randint(1, len(sentences)), key)
        texts.append(" ".join(sentences))
        summaries.append(key)
        splits.append("train" if i % 5 < 3 else "validation" if i % 5 == 3 else "test")
    return pa.table(
        {
            "id": [f"doc-{i}" for i in range(n)],
            "text": texts,
            "summary": summaries,
            "label": pa.array([None] * n, pa.string()),
            "input_ids": pa.array([[]] * n, pa.list_(pa.int32())),
            "length": pa.array([0] * n, pa.int32()),
            "split": splits,
        }
    )


def test_prepare_labels_the_key_sentence(tokenizer):
    cfg = SummarizerConfig(max_sentence_tokens=4)
    prepared = SummarizerKind().prepare(planted_corpus(10), tokenizer, cfg)
    assert sum(len(v) for v in prepared.splits.values()) == 10
    json.dumps(prepared.meta)
    for example, text in zip(prepared.splits["train"], planted_corpus(10).filter(pc.field("split") == "train")["text"].to_pylist()):
        sentences = split_sentences(text)
        key = next(i for i, s in enumerate(sentences) if s.startswith("In summary"))
        assert example["labels"].tolist() == [float(i == key) for i in range(len(sentences))]
        assert max(len(ids) for ids in example["sentences"]) <= 4
        assert example["sentences"][key][:2].tolist() == [tokenizer.token_to_id("[UNK]")] * 2


@pytest.fixture(scope="module")
def trained(tokenizer, tmp_path_factory):
    kind = SummarizerKind()
    cfg = SummarizerConfig(embedding_dim=16, hidden_size=16, dropout=0.0, summary_sentences=1, train=FAST)
    prepared = kind.prepare(planted_corpus(), tokenizer, cfg)
    torch.manual_seed(0)
    result = train_model(kind, cfg, prepared, tokenizer.get_vocab_size(), tmp_path_factory.mktemp("sum"))
    return kind, cfg, prepared, result


def test_learns_to_pick_the_planted_sentence(trained):
    _, _, prepared, result = trained
    lead = lead_metrics(prepared, k=1)
    assert result.best_metrics["rouge1_f"] > 0.9, (result.history, lead)
    assert result.best_metrics["rouge1_f"] > lead["rouge1_f"] + 0.3
    assert result.history[-1]["val_sentence_accuracy"] > 0.9, result.history  # the best epoch may still be uncalibrated


def test_predictor_outputs_summary_and_scores(trained, tokenizer):
    kind, cfg, prepared, result = trained
    predictor = kind.predictor(result.model.cpu(), prepared.meta, tokenizer, cfg)
    texts = [
        "The plot was dull. In summary sales rose sharply. The actors were good.",
        "",
        "The story was very good. And really bad. In summary rates fell sharply.",
    ]
    out = predictor.predict(pd.DataFrame({"text": texts}))
    assert list(out.columns) == ["summary", "selected", "sentence_scores"]
    assert out["summary"].tolist() == ["In summary sales rose sharply.", "", "In summary rates fell sharply."]
    assert [len(s) for s in out["sentence_scores"]] == [3, 0, 3]
    assert all(0.0 <= p <= 1.0 for s in out["sentence_scores"] for p in s)


def test_bundle_round_trip_predicts_the_same(trained, tokenizer, tmp_path):
    kind, _, prepared, result = trained
    cfg = SummarizerConfig(embedding_dim=16, hidden_size=16, dropout=0.0, summary_sentences=2, train=FAST)
    model = result.model.cpu()
    rows = pd.DataFrame({"text": ["The plot was dull. In summary sales rose sharply. The actors were good. A story.", "One sentence only"]})
    before = kind.predictor(model, prepared.meta, tokenizer, cfg).predict(rows)
    save_bundle(tmp_path, kind.name, cfg, model, prepared.meta, tokenizer)
    after = load_predictor(tmp_path).predict(rows)
    pd.testing.assert_frame_equal(after, before)
    assert "In summary sales rose sharply." in after["summary"][0]
    assert after["summary"][1] == "One sentence only"


@pytest.mark.slow
@pytest.mark.shared_data
def test_bbc_news_beats_lead_baseline(shared_data, tmp_path):
    path = shared_data / "bbc_news_summary" / "bbc_news_summary.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    records = pd.read_json(path, lines=True).sample(frac=1.0, random_state=0).head(550)
    splits = ["train"] * 400 + ["validation"] * 150
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(records["article"].head(400), trainers.WordLevelTrainer(min_frequency=3, special_tokens=["[PAD]", "[UNK]"]))
    n = len(records)
    tokens = pa.table(
        {
            "id": records["id"].tolist(),
            "text": records["article"].tolist(),
            "summary": records["summary"].tolist(),
            "label": records["category"].tolist(),
            "input_ids": pa.array([[]] * n, pa.list_(pa.int32())),
            "length": pa.array([0] * n, pa.int32()),
            "split": splits,
        }
    )
    kind = SummarizerKind()
    cfg = SummarizerConfig(
        embedding_dim=32,
        hidden_size=32,
        max_sentences=30,
        max_sentence_tokens=30,
        summary_sentences=K_BBC,
        train={"epochs": 3, "batch_size": 16, "lr": 0.01, "progress": False},
    )
    prepared = kind.prepare(tokens, tok, cfg)
    result = train_model(kind, cfg, prepared, tok.get_vocab_size(), tmp_path)
    lead = lead_metrics(prepared, k=cfg.summary_sentences)
    print("bbc validation", result.best_metrics, "lead", lead)
    assert result.best_metrics["rouge1_f"] > lead["rouge1_f"], (result.best_metrics, lead)
