"""Mergeable, JSON-serialisable partial counts of a corpus shard (and of its quarantine).

`count_shard` runs on one shard at a time (memory bounded by the shard and `npmi_vocab_size`);
`merge_counts` sums shards. Word statistics are document frequencies of lower-cased words
(Latin-script words, single Han characters), kept for the `npmi_vocab_size` most frequent words
per shard and after each merge: exact while the vocabulary fits, approximate beyond.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import WORD, Lexicon, group_masks, load_lexicon


class AuditCounts(BaseModel):
    """Partial counts of a (part of a) corpus; group keys are `axis/group`.

    The label fields hold sums of instance weights when the shard was counted with weights
    (floats then; integers otherwise); document and word counts are always unweighted.
    """

    total_docs: int = 0
    labelled_docs: int | float = 0
    label_docs: dict[str, int | float] = Field(default_factory=dict)
    group_docs: dict[str, int] = Field(default_factory=dict)
    group_label_docs: dict[str, dict[str, int | float]] = Field(default_factory=dict)
    word_docs: dict[str, int] = Field(default_factory=dict)
    group_word_docs: dict[str, dict[str, int]] = Field(default_factory=dict)
    vocab_truncated: bool = False


class FilterCounts(BaseModel):
    """Quarantined documents per cleaning step, overall and per group."""

    total_docs: int = 0
    step_docs: dict[str, int] = Field(default_factory=dict)
    group_docs: dict[str, int] = Field(default_factory=dict)
    step_group_docs: dict[str, dict[str, int]] = Field(default_factory=dict)


def _add(into: dict[str, int | float], other: dict[str, int | float]) -> None:
    for key, value in other.items():
        into[key] = into.get(key, 0) + value


def _top(counts: dict[str, int], size: int) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size])


def _value_counts(values: pa.Array) -> dict[str, int]:
    vc = pc.value_counts(pc.drop_null(pc.cast(values, pa.string())))
    return {str(v): int(n) for v, n in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist())}


def _weighted_value_counts(values: pa.Array, weights: np.ndarray) -> dict[str, float]:
    """Sum of weights per non-null value (rounded to 4 decimals: float32 weights carry noise)."""
    grouped = pa.table({"v": pc.cast(values, pa.string()), "w": pa.array(weights, pa.float64())})
    sums = grouped.filter(pc.is_valid(grouped["v"])).group_by("v").aggregate([("w", "sum")])
    return {str(v): round(float(w), 4) for v, w in zip(sums["v"].to_pylist(), sums["w_sum"].to_pylist())}


def doc_words(text: str | None) -> set[str]:
    """The set of lower-cased words of one document, as counted for nPMI."""
    return set(WORD.findall(text.lower())) if text else set()


def count_shard(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None, weights: np.ndarray | None = None) -> AuditCounts:
    """Count documents, labels, words and group co-occurrences of one shard.

    In: a dataset table (`id, text, label` + carried columns) and optional per-row instance
    weights (e.g. the `weight` column of the tokens). Out: `AuditCounts` to be merged; with
    weights, label counts are weighted sums, so label rates are the rates a weighted loss sees.
    Rows whose label is null count as documents but not towards label rates.
    """
    lexicon = lexicon or load_lexicon(cfg)
    masks = group_masks(table, cfg, lexicon)
    has_label = cfg.label_column in table.column_names
    labels = pc.cast(table.column(cfg.label_column), pa.string()) if has_label else None
    counts = AuditCounts(total_docs=table.num_rows)
    if weights is not None and len(weights) != table.num_rows:
        raise ValueError(f"{len(weights)} weights for {table.num_rows} rows")
    if labels is not None and weights is not None:
        has = pc.is_valid(labels).to_numpy(zero_copy_only=False)
        counts.labelled_docs = round(float(np.asarray(weights, np.float64)[has].sum()), 4)
        counts.label_docs = _weighted_value_counts(labels, weights)
    elif labels is not None:
        counts.labelled_docs = table.num_rows - labels.null_count
        counts.label_docs = _value_counts(labels)
    word_sets = [doc_words(t) for t in table.column(cfg.text_column).to_pylist()]
    words = Counter(w for ws in word_sets for w in ws)
    counts.vocab_truncated = len(words) > cfg.npmi_vocab_size
    counts.word_docs = _top(dict(words), cfg.npmi_vocab_size)
    vocab = counts.word_docs.keys()
    for key, mask in masks.items():
        counts.group_docs[key] = int(mask.sum())
        if labels is not None and weights is not None:
            counts.group_label_docs[key] = _weighted_value_counts(labels.filter(pa.array(mask)), weights[mask])
        elif labels is not None:
            counts.group_label_docs[key] = _value_counts(labels.filter(pa.array(mask)))
        co: Counter[str] = Counter()
        for i in np.flatnonzero(mask):
            co.update(word_sets[i] & vocab)
        counts.group_word_docs[key] = dict(co)
    return counts


def merge_counts(parts: list[AuditCounts], vocab_size: int | None = None) -> AuditCounts:
    """Sum partial counts; with `vocab_size`, keep only that many most frequent words."""
    out = AuditCounts()
    for part in parts:
        out.total_docs += part.total_docs
        out.labelled_docs += part.labelled_docs
        out.vocab_truncated |= part.vocab_truncated
        _add(out.label_docs, part.label_docs)
        _add(out.group_docs, part.group_docs)
        _add(out.word_docs, part.word_docs)
        for key, by_label in part.group_label_docs.items():
            _add(out.group_label_docs.setdefault(key, {}), by_label)
        for key, by_word in part.group_word_docs.items():
            _add(out.group_word_docs.setdefault(key, {}), by_word)
    if vocab_size is not None and len(out.word_docs) > vocab_size:
        out.vocab_truncated = True
        out.word_docs = _top(out.word_docs, vocab_size)
        out.group_word_docs = {k: {w: n for w, n in v.items() if w in out.word_docs} for k, v in out.group_word_docs.items()}
    return out


def count_quarantine(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None) -> FilterCounts:
    """Count quarantined documents (`id, text, step, reason` + carried columns) per step and group."""
    masks = group_masks(table, cfg, lexicon)
    steps = pc.fill_null(pc.cast(table.column("step"), pa.string()), "unknown")
    out = FilterCounts(total_docs=table.num_rows, step_docs=_value_counts(steps))
    for key, mask in masks.items():
        out.group_docs[key] = int(mask.sum())
        for step, n in _value_counts(steps.filter(pa.array(mask))).items():
            out.step_group_docs.setdefault(step, {})[key] = n
    return out


def merge_filter_counts(parts: list[FilterCounts]) -> FilterCounts:
    """Sum partial quarantine counts."""
    out = FilterCounts()
    for part in parts:
        out.total_docs += part.total_docs
        _add(out.step_docs, part.step_docs)
        _add(out.group_docs, part.group_docs)
        for step, by_group in part.step_group_docs.items():
            _add(out.step_group_docs.setdefault(step, {}), by_group)
    return out
