"""Extractive summarizer (SummaRuNNer-like, with explicit position features).

A word-level BiLSTM encodes each sentence; a document-level BiLSTM runs over the sentence
vectors; the document representation is the mean of its states. Each sentence's score comes from
an MLP over [sentence state, document vector, their product, absolute-position embedding,
relative-position embedding, scalar position features], so the lead bias is easy to learn where
the data has it and easy to ignore where it does not.

Training labels: the greedy oracle (computed once in `prepare`). Selection: highest scores with
trigram blocking, as many sentences as the length rule chosen on validation after training
(`finalize`: a count k or a ratio of the document's sentences; stored in the bundle's meta).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Tokenizer
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from tasks.train.config import TrainConfig
from tasks.train.kind import SPLITS, BatchPredictor, ModelKind, Prepared
from tasks.train.models.extractive import (
    RELATIVE_BUCKETS,
    SCALAR_FEATURES,
    join_sentences,
    length_rules,
    oracle_labels,
    position_features,
    rouge_n,
    rouge_words,
    select,
    summary_length,
)
from tasks.train.models.identity import canonicaliser
from tasks.train.models.sentences import Engine
from tasks.train.models.sentences import split_sentences as _split

DEFAULT_RULES = length_rules([1, 2, 3, 4, 5], [0.2, 0.3, 0.4, 0.5])


class SummarizerConfig(BaseModel):
    """YAML `models.<name>` with `kind: lstm_summarizer`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lstm_summarizer"] = "lstm_summarizer"
    embedding_dim: int = Field(default=64, ge=1)
    hidden_size: int = Field(default=96, ge=1)
    position_dim: int = Field(default=16, ge=1, description="size of the absolute and relative position embeddings")
    dropout: float = Field(default=0.1, ge=0, lt=1)
    max_sentences: int = Field(default=30, ge=1, description="sentences kept per document (the rest are never picked)")
    max_sentence_tokens: int = Field(default=48, ge=1, description="tokens kept per sentence")
    splitter: Engine = Field(default="pysbd", description="English sentence splitter engine: pysbd | blingfire | regex")
    max_sentence_words: int = Field(default=80, ge=2, description="longer pieces are cut into chunks (CJK: 2x characters)")
    summary_sentences: int | None = Field(default=None, ge=1, description="fixed summary length; null: chosen on validation")
    length_counts: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], description="candidate lengths (sentences)")
    length_ratios: list[float] = Field(default_factory=lambda: [0.2, 0.3, 0.4, 0.5], description="candidate lengths (share of sentences)")
    trigram_blocking: bool = True
    identity_canonical: bool = Field(
        default=True,
        description="map counterfactual-pair identity terms (he/she, 他/她, ...) to one form before encoding, so swapping them cannot change the selection",
    )
    rouge_tokenizer: Literal["auto", "stem", "chars"] = Field(
        default="auto", description="test ROUGE tokens: stem (rouge-score default + Porter), chars (CJK characters), auto (chars when the reference has CJK)"
    )
    train: TrainConfig = Field(default_factory=TrainConfig)

    def rules(self) -> list[dict[str, Any]]:
        """The length rules compared on validation (just the fixed one when `summary_sentences` is set)."""
        if self.summary_sentences is not None:
            return [{"mode": "count", "value": self.summary_sentences}]
        return length_rules(self.length_counts, self.length_ratios)


def split_sentences(text: str, cfg: SummarizerConfig | None = None) -> list[str]:
    """Text -> sentences with the configured splitter (defaults when `cfg` is None)."""
    cfg = cfg or SummarizerConfig()
    return _split(text or "", cfg.splitter, cfg.max_sentence_words)


def model_sentences(sentences: list[str], cfg: SummarizerConfig) -> list[str]:
    """Sentences -> the text the model reads: identity terms canonicalised when `cfg.identity_canonical`."""
    if not cfg.identity_canonical:
        return sentences
    canonical = canonicaliser()
    return [canonical(s) for s in sentences]


def encode_sentences(tokenizer: Tokenizer, sentences: list[str], max_tokens: int) -> list[Tensor]:
    """Sentences -> token ids per sentence (no special tokens; cut to `max_tokens`; an empty
    encoding becomes one padding id so every sentence has length >= 1)."""
    encodings = tokenizer.encode_batch(sentences, add_special_tokens=False) if sentences else []
    return [torch.tensor(e.ids[:max_tokens] or [0], dtype=torch.long) for e in encodings]


class LSTMSummarizer(nn.Module):
    """Word ids `[B, S, W]`, word lengths `[B, S]` (0 for padded sentences), sentence counts `[B]`
    -> one logit per sentence `[B, S]`."""

    def __init__(self, vocab_size: int, cfg: SummarizerConfig) -> None:
        super().__init__()
        h, p = cfg.hidden_size, cfg.position_dim
        self.embedding = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=0)
        self.word_lstm = nn.LSTM(cfg.embedding_dim, h, batch_first=True, bidirectional=True)
        self.sentence_lstm = nn.LSTM(2 * h, h, batch_first=True, bidirectional=True)
        self.absolute = nn.Embedding(cfg.max_sentences, p)
        self.relative = nn.Embedding(RELATIVE_BUCKETS, p)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Sequential(nn.Linear(6 * h + 2 * p + SCALAR_FEATURES, h), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(h, 1))

    def forward(self, word_ids: Tensor, word_lengths: Tensor, lengths: Tensor) -> Tensor:
        batch, sentences, _ = word_ids.shape
        real = word_lengths > 0
        words = self.dropout(self.embedding(word_ids[real]))
        packed = pack_padded_sequence(words, word_lengths[real].cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.word_lstm(packed)
        vectors = torch.cat([h_n[-2], h_n[-1]], dim=-1)
        grid = vectors.new_zeros(batch, sentences, vectors.shape[-1])
        grid[real] = vectors
        packed = pack_padded_sequence(self.dropout(grid), lengths.cpu(), batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(self.sentence_lstm(packed)[0], batch_first=True, total_length=sentences)
        mask = real.unsqueeze(-1).to(states.dtype)
        doc = ((states * mask).sum(1) / mask.sum(1).clamp_min(1)).unsqueeze(1).expand_as(states)
        absolute, relative, scalars = self._positions(lengths.tolist(), sentences, states.device)
        features = torch.cat([states, doc, states * doc, self.absolute(absolute), self.relative(relative), scalars.to(states.dtype)], -1)
        return self.head(self.dropout(features)).squeeze(-1).float()

    def _positions(self, lengths: list[int], sentences: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        absolute = torch.zeros(len(lengths), sentences, dtype=torch.long)
        relative = torch.zeros(len(lengths), sentences, dtype=torch.long)
        scalars = torch.zeros(len(lengths), sentences, SCALAR_FEATURES)
        for b, n in enumerate(lengths):
            a, r, s = position_features(n)
            absolute[b, :n], relative[b, :n], scalars[b, :n] = torch.tensor(a), torch.tensor(r), torch.tensor(s)
        absolute = absolute.clamp_max(self.absolute.num_embeddings - 1)
        return absolute.to(device), relative.to(device), scalars.to(device)


def _collate_sentences(docs: list[list[Tensor]]) -> dict[str, Tensor]:
    """Documents (each a list of >= 1 sentence id tensors) -> `word_ids [B, S, W]`,
    `word_lengths [B, S]`, `lengths [B]`."""
    sentences = max(len(d) for d in docs)
    width = max(len(s) for d in docs for s in d)
    word_ids = torch.zeros(len(docs), sentences, width, dtype=torch.long)
    word_lengths = torch.zeros(len(docs), sentences, dtype=torch.long)
    for b, doc in enumerate(docs):
        for s, ids in enumerate(doc):
            word_ids[b, s, : len(ids)] = ids
            word_lengths[b, s] = len(ids)
    return {"word_ids": word_ids, "word_lengths": word_lengths, "lengths": torch.tensor([len(d) for d in docs])}


def _sentence_mask(batch: dict[str, Tensor]) -> Tensor:
    positions = torch.arange(batch["word_lengths"].shape[1], device=batch["word_lengths"].device)
    return positions.unsqueeze(0) < batch["lengths"].to(positions.device).unsqueeze(1)


def _doc_rouge(batch: dict[str, Tensor], b: int, picked: list[int]) -> float:
    """ROUGE-1 F + ROUGE-2 F (integer words) of the picked sentences of document `b` of a batch."""
    words = [w for i in picked for w in batch["rouge_words"][b, i, : batch["rouge_word_lengths"][b, i]].tolist() if w >= 0]
    reference = [w for w in batch["reference"][b].tolist() if w >= 0]
    return rouge_n(words, reference, 1) + rouge_n(words, reference, 2)


class SummarizerPredictor(BatchPredictor):
    """`text` column -> `summary` (selected sentences in document order), `selected` (their
    indices) and `sentence_scores` (probability per sentence, first `max_sentences` sentences)."""

    def __init__(self, model: nn.Module, tokenizer: Tokenizer, cfg: SummarizerConfig, rule: dict[str, Any], batch_rows: int = 64) -> None:
        super().__init__(model, batch_rows)
        self.tokenizer, self.cfg, self.rule = tokenizer, cfg, rule

    def predict_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        docs = [split_sentences(t if isinstance(t, str) else "", self.cfg)[: self.cfg.max_sentences] for t in df["text"].tolist()]
        scored = [i for i, d in enumerate(docs) if d]
        scores: list[list[float]] = [[] for _ in docs]
        if scored:
            batch = _collate_sentences([encode_sentences(self.tokenizer, model_sentences(docs[i], self.cfg), self.cfg.max_sentence_tokens) for i in scored])
            logits = self.model(batch["word_ids"].to(self.device), batch["word_lengths"].to(self.device), batch["lengths"])
            for row, p in zip(scored, torch.sigmoid(logits).cpu().tolist()):
                scores[row] = [float(v) for v in p[: len(docs[row])]]
        picked = [
            select(s, [rouge_words(x) for x in model_sentences(d, self.cfg)], summary_length(self.rule, len(d)), self.cfg.trigram_blocking)
            for d, s in zip(docs, scores)
        ]
        return pd.DataFrame({"summary": [join_sentences([d[i] for i in p]) for d, p in zip(docs, picked)], "selected": picked, "sentence_scores": scores})


class SummarizerKind(ModelKind[SummarizerConfig]):
    """`lstm_summarizer`: rows with a non-empty `text` and `summary` become labelled documents."""

    name = "lstm_summarizer"
    config_class = SummarizerConfig
    monitor = "rouge1_f"
    mode = "max"

    @classmethod
    def test_metrics(cls, evaluate: Any) -> tuple[str, ...]:
        """ROUGE-1/2/L F of the model, of Lead-3, Lead-k and the oracle (`baseline_lead3_rouge1_f`,
        `oracle_rougeL_f`, ...), where the model picks, and the identity-swap selection check."""
        rouge = ("rouge1_f", "rouge2_f", "rougeL_f")
        return (
            rouge
            + tuple(f"{p}{m}" for p in ("baseline_lead3_", "baseline_lead_k_", "oracle_") for m in rouge)
            + (
                "mean_summary_sentences",
                "mean_selected_position",
                "lead3_only_share",
                "test_docs",
                "rouge1_f_vs_lead3",
                "selection_change_rate.*",
                "selection_change_rate_max",
            )
        )

    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: SummarizerConfig) -> Prepared:
        """Tokens table (`text`, `summary`, `split`, optional `weight`) -> examples per split:
        `{"sentences": [ids per sentence], "labels": greedy-oracle 0/1 tensor, "words": ROUGE word
        ids per sentence, "reference": ROUGE word ids of the summary}`. ROUGE words are mapped to
        ints by a vocabulary local to this call. meta: `{}` (`finalize` adds the length rule)."""
        if "summary" not in tokens.column_names:
            raise ValueError("lstm_summarizer needs a `summary` column in the tokens table")
        weights = tokens["weight"].to_pylist() if "weight" in tokens.column_names else None
        vocab: dict[str, int] = {}
        splits: dict[str, list[Any]] = {split: [] for split in SPLITS}
        rows = zip(tokens["text"].to_pylist(), tokens["summary"].to_pylist(), tokens["split"].to_pylist())
        for r, (text, summary, split) in enumerate(rows):
            sentences = split_sentences(text or "", cfg)[: cfg.max_sentences]
            if not sentences or not summary or split not in splits:
                continue
            words = [[vocab.setdefault(w, len(vocab)) for w in rouge_words(s)] for s in sentences]
            reference = [vocab.setdefault(w, len(vocab)) for w in rouge_words(summary)]
            example = {
                "sentences": encode_sentences(tokenizer, model_sentences(sentences, cfg), cfg.max_sentence_tokens),
                "labels": torch.tensor(oracle_labels(words, reference), dtype=torch.float32),
                "words": [torch.tensor(w, dtype=torch.long) for w in words],
                "reference": torch.tensor(reference, dtype=torch.long),
            }
            if weights is not None:
                example["weight"] = float(weights[r])
            splits[split].append(example)
        return Prepared(splits=splits, meta={})

    def build(self, cfg: SummarizerConfig, meta: dict[str, Any], vocab_size: int) -> nn.Module:
        return LSTMSummarizer(vocab_size, cfg)

    def example_length(self, example: Any) -> int:
        return sum(len(s) for s in example["sentences"])

    def collate(self, examples: list[Any]) -> dict[str, Tensor]:
        batch = _collate_sentences([e["sentences"] for e in examples])
        batch["labels"] = pad_sequence([e["labels"] for e in examples], batch_first=True)
        words = _collate_sentences([[w if len(w) else torch.full((1,), -1) for w in e["words"]] for e in examples])
        batch["rouge_words"], batch["rouge_word_lengths"] = words["word_ids"], words["word_lengths"]
        batch["reference"] = pad_sequence([e["reference"] for e in examples], batch_first=True, padding_value=-1)
        if "weight" in examples[0]:
            batch["weight"] = torch.tensor([e["weight"] for e in examples], dtype=torch.float32)
        return batch

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Binary cross-entropy over real sentences (per-document mean, weighted when weights exist)."""
        logits = model(batch["word_ids"], batch["word_lengths"], batch["lengths"])
        mask = _sentence_mask(batch).float()
        per_sentence = F.binary_cross_entropy_with_logits(logits, batch["labels"], reduction="none") * mask
        if "weight" in batch:
            per_doc = per_sentence.sum(1) / mask.sum(1).clamp_min(1)
            loss = (per_doc * batch["weight"]).sum() / batch["weight"].sum().clamp_min(1e-12)
        else:
            loss = per_sentence.sum() / mask.sum().clamp_min(1)
        return loss, int(batch["word_lengths"].sum())

    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Tensor]]) -> dict[str, float]:
        """-> `rouge1_f`, `rouge2_f` (integer-word ROUGE of the selection, trigram blocking, under
        the best of the default length rules for these batches), `sentence_accuracy` (logit > 0
        vs oracle label), `loss` (BCE) and `length_rule` (index of that rule)."""
        return _evaluate(model, batches, DEFAULT_RULES, True)

    def finalize(self, model: nn.Module, prepared: Prepared, cfg: SummarizerConfig) -> dict[str, Any]:
        """Trained model + examples -> `{"length_rule": the rule of `cfg.rules()` with the best
        integer ROUGE-1 F + ROUGE-2 F on the validation split (train when there is none),
        "length_rule_validation_rouge1_f": its ROUGE-1 F}`; goes into the bundle's meta."""
        rules = cfg.rules()
        examples = prepared.splits.get("validation") or prepared.splits["train"]
        device = next(model.parameters()).device
        size = cfg.train.eval_batch_size or 2 * cfg.train.batch_size
        batches = ({k: (v if k == "lengths" else v.to(device)) for k, v in self.collate(examples[i : i + size]).items()} for i in range(0, len(examples), size))
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            metrics = _evaluate(model, batches, rules, cfg.trigram_blocking)
        model.train(was_training)
        return {"length_rule": rules[int(metrics["length_rule"])], "length_rule_validation_rouge1_f": metrics["rouge1_f"]}

    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: SummarizerConfig) -> SummarizerPredictor:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        rule = meta.get("length_rule") or cfg.rules()[min(2, len(cfg.rules()) - 1)]
        return SummarizerPredictor(model, tokenizer, cfg, rule)


def _evaluate(model: nn.Module, batches: Iterable[dict[str, Tensor]], rules: list[dict[str, Any]], blocking: bool) -> dict[str, float]:
    """Batches -> mean integer-word ROUGE of the best of `rules`, sentence accuracy, loss, rule index."""
    sums = [[0.0, 0.0] for _ in rules]
    correct = total_loss = 0.0
    docs = sentences = 0
    for batch in batches:
        logits = model(batch["word_ids"], batch["word_lengths"], batch["lengths"])
        mask = _sentence_mask(batch)
        total_loss += float(F.binary_cross_entropy_with_logits(logits, batch["labels"], reduction="none")[mask].sum())
        correct += float(((logits > 0).float() == batch["labels"])[mask].sum())
        sentences += int(mask.sum())
        for b, n in enumerate(batch["lengths"].tolist()):
            scores = logits[b, :n].tolist()
            words = [batch["rouge_words"][b, i, : batch["rouge_word_lengths"][b, i]].tolist() for i in range(n)]
            reference = [w for w in batch["reference"][b].tolist() if w >= 0]
            for r, rule in enumerate(rules):
                picked = select(scores, words, summary_length(rule, n), blocking)
                chosen = [w for i in picked for w in words[i] if w >= 0]
                sums[r][0] += rouge_n(chosen, reference, 1)
                sums[r][1] += rouge_n(chosen, reference, 2)
            docs += 1
    if not docs:
        return {"rouge1_f": float("nan"), "rouge2_f": float("nan"), "sentence_accuracy": float("nan"), "loss": float("nan"), "length_rule": 0.0}
    best = max(range(len(rules)), key=lambda r: (sums[r][0] + sums[r][1], -r))
    return {
        "rouge1_f": sums[best][0] / docs,
        "rouge2_f": sums[best][1] / docs,
        "sentence_accuracy": correct / sentences,
        "loss": total_loss / sentences,
        "length_rule": float(best),
    }


def lead_metrics(prepared: Prepared, k: int, split: str = "validation") -> dict[str, float]:
    """Baseline: the first `k` sentences of each document -> mean integer-word `rouge1_f`, `rouge2_f` on `split`."""
    examples = prepared.splits[split]
    r1 = r2 = 0.0
    for e in examples:
        words = [w for s in e["words"][:k] for w in s.tolist()]
        reference = e["reference"].tolist()
        r1 += rouge_n(words, reference, 1)
        r2 += rouge_n(words, reference, 2)
    n = max(len(examples), 1)
    return {"rouge1_f": r1 / n, "rouge2_f": r2 / n}
