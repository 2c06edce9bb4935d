"""Extractive summarizer (SummaRuNNer-like): a word-level BiLSTM encodes each sentence, a
document-level BiLSTM runs over the sentence vectors (+ a sentence-position embedding), and a
linear layer gives each sentence a logit: "belongs in the summary".

Training labels come from the greedy oracle of Nallapati et al. (2017): sentences are added one at
a time while they raise ROUGE-1 F + ROUGE-2 F against the reference summary. ROUGE here is computed
over lower-cased words (each CJK character is one word), not over tokenizer pieces.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
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

# a sentence ends at . ! ? (+ closing quote/bracket) before whitespace, at 。！？ (+ closing
# quote), or at a line break
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'”’)\]])\s+|(?<=[。！？])(?![”」』’）])\s*|(?<=[。！？][”」』’）])\s*|\s*\n\s*")
ROUGE_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")
CJK_END = tuple("。！？”」』’）")


class SummarizerConfig(BaseModel):
    """YAML `models.<name>` with `kind: lstm_summarizer`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lstm_summarizer"] = "lstm_summarizer"
    embedding_dim: int = Field(default=64, ge=1)
    hidden_size: int = Field(default=96, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    max_sentences: int = Field(default=30, ge=1, description="sentences kept per document (the rest are never picked)")
    max_sentence_tokens: int = Field(default=48, ge=1, description="tokens kept per sentence")
    summary_sentences: int = Field(default=2, ge=1, description="sentences in a predicted summary")
    train: TrainConfig = Field(default_factory=TrainConfig)


def split_sentences(text: str) -> list[str]:
    """Text (English or Chinese) -> its non-empty sentences, stripped, in order."""
    return [s.strip() for s in SENTENCE_END.split(text or "") if s and s.strip()]


def rouge_words(text: str) -> list[str]:
    """Text -> the lower-cased words ROUGE counts (letters/digits runs; each CJK character alone)."""
    return ROUGE_WORD.findall(text.lower())


def _ngrams(words: Sequence[Any], n: int) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _f1(candidate: Counter[Any], reference: Counter[Any]) -> float:
    overlap = sum((candidate & reference).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(candidate.values()), overlap / sum(reference.values())
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: Sequence[Any], reference: Sequence[Any], n: int) -> float:
    """ROUGE-N F1 of a candidate word list against a reference word list (0 when either is empty)."""
    return _f1(_ngrams(candidate, n), _ngrams(reference, n))


def oracle_labels(sentences: Sequence[Sequence[Any]], reference: Sequence[Any]) -> list[int]:
    """Greedy oracle: sentences' words + the reference's words -> 0/1 per sentence. Repeatedly add
    the sentence that most raises ROUGE-1 F + ROUGE-2 F of the chosen sentences; stop when none
    raises it. N-grams are counted within sentences (as PreSumm's greedy selection does)."""
    grams = [(_ngrams(s, 1), _ngrams(s, 2)) for s in sentences]
    ref1, ref2 = _ngrams(reference, 1), _ngrams(reference, 2)
    chosen: list[int] = []
    have1, have2 = Counter(), Counter()
    best = 0.0
    while True:
        gains = [(_f1(have1 + grams[i][0], ref1) + _f1(have2 + grams[i][1], ref2), -i) for i in range(len(sentences)) if i not in chosen]
        if not gains or max(gains)[0] <= best:
            break
        best, negative_index = max(gains)
        chosen.append(-negative_index)
        have1, have2 = have1 + grams[-negative_index][0], have2 + grams[-negative_index][1]
    return [int(i in chosen) for i in range(len(sentences))]


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences -> one text: joined by a space, except after CJK sentence ends."""
    out = ""
    for sentence in sentences:
        out += ("" if not out or out.endswith(CJK_END) else " ") + sentence
    return out


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
        self.embedding = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=0)
        self.word_lstm = nn.LSTM(cfg.embedding_dim, cfg.hidden_size, batch_first=True, bidirectional=True)
        self.position = nn.Embedding(cfg.max_sentences, 2 * cfg.hidden_size)
        self.sentence_lstm = nn.LSTM(2 * cfg.hidden_size, cfg.hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.hidden_size, 1)

    def forward(self, word_ids: Tensor, word_lengths: Tensor, lengths: Tensor) -> Tensor:
        batch, sentences, _ = word_ids.shape
        real = word_lengths > 0
        words = self.dropout(self.embedding(word_ids[real]))
        packed = pack_padded_sequence(words, word_lengths[real].cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.word_lstm(packed)
        vectors = torch.cat([h_n[-2], h_n[-1]], dim=-1)
        grid = vectors.new_zeros(batch, sentences, vectors.shape[-1])
        grid[real] = vectors
        grid = grid + self.position(torch.arange(sentences, device=grid.device)).unsqueeze(0)
        packed = pack_padded_sequence(self.dropout(grid), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.sentence_lstm(packed)[0], batch_first=True, total_length=sentences)
        return self.head(self.dropout(out)).squeeze(-1).float()


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


def top_sentences(scores: Sequence[float], k: int) -> list[int]:
    """Sentence scores -> indices of the `k` best, in document order (ties: earlier first)."""
    best = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return sorted(best)


class SummarizerPredictor(BatchPredictor):
    """`text` column -> `summary` (the top `summary_sentences` sentences in document order) and
    `sentence_scores` (probability per sentence, for the first `max_sentences` sentences)."""

    def __init__(self, model: nn.Module, tokenizer: Tokenizer, cfg: SummarizerConfig, batch_rows: int = 64) -> None:
        super().__init__(model, batch_rows)
        self.tokenizer = tokenizer
        self.cfg = cfg

    def predict_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        docs = [split_sentences(t if isinstance(t, str) else "")[: self.cfg.max_sentences] for t in df["text"].tolist()]
        scored = [i for i, d in enumerate(docs) if d]
        scores: list[list[float]] = [[] for _ in docs]
        if scored:
            batch = _collate_sentences([encode_sentences(self.tokenizer, docs[i], self.cfg.max_sentence_tokens) for i in scored])
            logits = self.model(batch["word_ids"].to(self.device), batch["word_lengths"].to(self.device), batch["lengths"])
            probs = torch.sigmoid(logits).cpu().tolist()
            for row, p in zip(scored, probs):
                scores[row] = [float(v) for v in p[: len(docs[row])]]
        summaries = [join_sentences([d[i] for i in top_sentences(s, self.cfg.summary_sentences)]) for d, s in zip(docs, scores)]
        return pd.DataFrame({"summary": summaries, "sentence_scores": scores})


class SummarizerKind(ModelKind[SummarizerConfig]):
    """`lstm_summarizer`: rows with a non-empty `text` and `summary` become labelled documents."""

    name = "lstm_summarizer"
    config_class = SummarizerConfig
    monitor = "rouge1_f"
    mode = "max"

    def prepare(self, tokens: pa.Table, tokenizer: Tokenizer, cfg: SummarizerConfig) -> Prepared:
        """Tokens table (`text`, `summary`, `split`, optional `weight`) -> examples per split:
        `{"sentences": [ids per sentence], "labels": oracle 0/1 tensor, "words": ROUGE word ids
        per sentence, "reference": ROUGE word ids of the summary, "k": summary_sentences}`.
        ROUGE words are mapped to ints by a vocabulary local to this call. meta: `{}`."""
        if "summary" not in tokens.column_names:
            raise ValueError("lstm_summarizer needs a `summary` column in the tokens table")
        weights = tokens["weight"].to_pylist() if "weight" in tokens.column_names else None
        vocab: dict[str, int] = {}
        splits: dict[str, list[Any]] = {split: [] for split in SPLITS}
        rows = zip(tokens["text"].to_pylist(), tokens["summary"].to_pylist(), tokens["split"].to_pylist())
        for r, (text, summary, split) in enumerate(rows):
            sentences = split_sentences(text or "")[: cfg.max_sentences]
            if not sentences or not summary or split not in splits:
                continue
            words = [[vocab.setdefault(w, len(vocab)) for w in rouge_words(s)] for s in sentences]
            reference = [vocab.setdefault(w, len(vocab)) for w in rouge_words(summary)]
            example = {
                "sentences": encode_sentences(tokenizer, sentences, cfg.max_sentence_tokens),
                "labels": torch.tensor(oracle_labels(words, reference), dtype=torch.float32),
                "words": [torch.tensor(w, dtype=torch.long) for w in words],
                "reference": torch.tensor(reference, dtype=torch.long),
                "k": cfg.summary_sentences,
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
        batch["k"] = torch.tensor([e["k"] for e in examples])
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
        """-> `rouge1_f`, `rouge2_f` (mean over documents of the top-k sentences vs the reference),
        `sentence_accuracy` (logit > 0 vs oracle label over real sentences), `loss` (BCE)."""
        r1 = r2 = correct = total_loss = 0.0
        docs = sentences = 0
        for batch in batches:
            logits = model(batch["word_ids"], batch["word_lengths"], batch["lengths"])
            mask = _sentence_mask(batch)
            losses = F.binary_cross_entropy_with_logits(logits, batch["labels"], reduction="none")
            total_loss += float(losses[mask].sum())
            correct += float(((logits > 0).float() == batch["labels"])[mask].sum())
            sentences += int(mask.sum())
            for b, (n, k) in enumerate(zip(batch["lengths"].tolist(), batch["k"].tolist())):
                picked = top_sentences(logits[b, :n].tolist(), k)
                words = [w for i in picked for w in batch["rouge_words"][b, i, : batch["rouge_word_lengths"][b, i]].tolist() if w >= 0]
                reference = [w for w in batch["reference"][b].tolist() if w >= 0]
                r1 += rouge_n(words, reference, 1)
                r2 += rouge_n(words, reference, 2)
                docs += 1
        if not docs:
            return {"rouge1_f": float("nan"), "rouge2_f": float("nan"), "sentence_accuracy": float("nan"), "loss": float("nan")}
        return {"rouge1_f": r1 / docs, "rouge2_f": r2 / docs, "sentence_accuracy": correct / sentences, "loss": total_loss / sentences}

    def predictor(self, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer, cfg: SummarizerConfig) -> SummarizerPredictor:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return SummarizerPredictor(model, tokenizer, cfg)


def lead_metrics(prepared: Prepared, k: int, split: str = "validation") -> dict[str, float]:
    """Baseline: the first `k` sentences of each document -> mean `rouge1_f`, `rouge2_f` on `split`."""
    examples = prepared.splits[split]
    r1 = r2 = 0.0
    for e in examples:
        words = [w for s in e["words"][:k] for w in s.tolist()]
        reference = e["reference"].tolist()
        r1 += rouge_n(words, reference, 1)
        r2 += rouge_n(words, reference, 2)
    n = max(len(examples), 1)
    return {"rouge1_f": r1 / n, "rouge2_f": r2 / n}
