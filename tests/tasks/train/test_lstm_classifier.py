"""The LSTM classifier: packing, weights, pooling, ULMFiT hooks, learning and prediction."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind, LSTMClassifier
from tasks.train.trainer import train_model

KIND = ClassifierKind()


def tiny(**overrides) -> ClassifierConfig:
    train = {"epochs": 6, "batch_size": 16, "lr": 0.02, "progress": False, "early_stopping_patience": None} | overrides.pop("train", {})
    return ClassifierConfig(embedding_dim=16, hidden_size=16, dropout=0.0, train=train, **overrides)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_lstm_ignores_padding(pooling, bidirectional):
    torch.manual_seed(0)
    model = LSTMClassifier(50, 3, tiny(pooling=pooling, bidirectional=bidirectional)).eval()
    short = torch.tensor([[5, 6, 7]])
    alone = model(short, torch.tensor([3]))
    padded = torch.tensor([[5, 6, 7, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    padded[0, 3:] = 42  # garbage in the padding must not matter either
    in_batch = model(padded, torch.tensor([3, 6]))
    torch.testing.assert_close(in_batch[0], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["last", "max"])
def test_cpu_bidirectional_path_equals_the_packed_lstm(pooling):
    """On CPU the bidirectional model runs dense (padded_lstm); its logits are the packed ones."""
    torch.manual_seed(0)
    model = LSTMClassifier(50, 3, tiny(pooling=pooling, bidirectional=True)).eval()
    ids, lengths = torch.tensor([[5, 6, 7, 0], [1, 2, 3, 4], [9, 0, 0, 0]]), torch.tensor([3, 4, 1])
    packed = torch.nn.utils.rnn.pack_padded_sequence(model.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
    packed_out, (h_n, _) = model.lstm(packed)
    if pooling == "last":
        features = torch.cat([h_n[-2], h_n[-1]], dim=-1)
    else:
        output, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, padding_value=float("-inf"))
        features = output.max(dim=1).values
    torch.testing.assert_close(model(ids, lengths), model.head(features))


def test_prepare_maps_sorted_labels_and_drops_unlabelled(make_tokens, tokenizer):
    table = make_tokens(["good", "bad", "nice", "dull"], ["pos", "neg", None, "neg"], ["train", "train", "train", "test"])
    prepared = KIND.prepare(table, tokenizer, tiny())
    assert prepared.meta == {"labels": ["neg", "pos"]}
    assert [e["label"] for e in prepared.splits["train"]] == [1, 0]
    assert len(prepared.splits["test"]) == 1 and prepared.splits["validation"] == []


def test_instance_weights_change_the_loss_as_a_weighted_mean(make_tokens, tokenizer):
    table = make_tokens(["good movie", "bad movie"], ["pos", "neg"], ["train", "train"], weights=[3.0, 1.0])
    cfg = tiny()
    examples = KIND.prepare(table, tokenizer, cfg).splits["train"]
    torch.manual_seed(0)
    model = KIND.build(cfg, {"labels": ["neg", "pos"]}, tokenizer.get_vocab_size())
    batch = KIND.collate(examples)
    weighted, count = KIND.loss(model, batch)
    per_example = torch.nn.functional.cross_entropy(model(batch["input_ids"], batch["lengths"]), batch["labels"], reduction="none")
    torch.testing.assert_close(weighted, (3 * per_example[0] + per_example[1]) / 4)
    unweighted, _ = KIND.loss(model, {k: v for k, v in batch.items() if k != "weight"})
    torch.testing.assert_close(unweighted, per_example.mean())
    assert not torch.isclose(weighted, unweighted)
    assert count == 4


def test_learns_a_trivially_separable_toy_set(toy_tokens, tokenizer, tmp_path):
    cfg = tiny()
    prepared = KIND.prepare(toy_tokens, tokenizer, cfg)
    result = train_model(KIND, cfg, prepared, tokenizer.get_vocab_size(), tmp_path)
    assert result.best_metrics["accuracy"] >= 0.95
    predictor = KIND.predictor(result.model.cpu(), prepared.meta, tokenizer, cfg)
    out = predictor.predict(pd.DataFrame({"text": ["the movie was great", "really awful story", ""]}))
    assert list(out.columns) == ["label", "score", "prob_neg", "prob_pos"]
    assert out["label"].tolist()[:2] == ["pos", "neg"]
    assert (out["score"] == out[["prob_neg", "prob_pos"]].max(axis=1)).all()
    assert abs(out["prob_neg"] + out["prob_pos"] - 1).max() < 1e-5


def test_discriminative_learning_rates_decay_per_layer_group():
    cfg = tiny(num_layers=2, lr_decay_per_layer=0.5)
    model = KIND.build(cfg, {"labels": ["a", "b"]}, 30)
    groups = KIND.param_groups(model, cfg)
    assert [g["lr_scale"] for g in groups] == [1.0, 0.5, 0.25, 0.125]  # head, lstm l1, lstm l0, embedding
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert groups[-1]["params"][0] is model.embedding.weight


def test_gradual_unfreezing_follows_the_schedule():
    cfg = tiny(num_layers=2, unfreeze_schedule=[1, 2, 3])
    model = KIND.build(cfg, {"labels": ["a", "b"]}, 30)
    trainable = []
    for epoch in range(4):
        KIND.on_epoch_start(model, cfg, epoch)
        trainable.append([all(p.requires_grad for p in g) for g in KIND.layer_groups(model)])
    assert trainable == [[True, False, False, False], [True, True, False, False], [True, True, True, False], [True, True, True, True]]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_predictor_matches_one_row_at_a_time_forward_in_input_order(tokenizer, bidirectional):
    """The fast path (one encode_batch, length-sorted sub-batches, numpy padding) gives each row the
    probabilities of the plain model run on that row alone, truncation and empty text included."""
    cfg = tiny(bidirectional=bidirectional, max_length=5)
    torch.manual_seed(0)
    model = KIND.build(cfg, {"labels": ["neg", "pos"]}, tokenizer.get_vocab_size()).eval()
    texts = [
        "the movie was really very good and the plot lovely",
        "bad",
        "",
        "a dull story",
        "nice actors",
        "the plot was poor",
        "great",
        "ugly and awful movie",
        "fine fine fine fine fine fine fine",
    ]
    predictor = KIND.predictor(model, {"labels": ["neg", "pos"]}, tokenizer, cfg)
    predictor.batch_rows, predictor.forward_rows = 7, 3  # several chunks and several sub-batches per chunk
    out = predictor.predict(pd.DataFrame({"text": texts}))
    with torch.inference_mode():
        expected = []
        for text in texts:
            ids = tokenizer.encode(text, add_special_tokens=False).ids[: cfg.max_length] or [0]
            expected.append(torch.softmax(model(torch.tensor([ids]), torch.tensor([len(ids)])), dim=-1)[0])
    expected = torch.stack(expected).numpy()
    assert abs(out[["prob_neg", "prob_pos"]].to_numpy() - expected).max() < 1e-6
    assert out["label"].tolist() == [["neg", "pos"][i] for i in expected.argmax(axis=1)]
    assert len(KIND.predictor(model, {"labels": ["neg", "pos"]}, tokenizer, cfg).predict(pd.DataFrame({"text": []}))) == 0
