"""An interpolated modified Kneser-Ney n-gram language model over token ids, vectorised with numpy.

Chen & Goodman (1998): three discounts per order (for counts 1, 2 and 3+) estimated from the
count-of-counts; the highest order uses raw counts, lower orders continuation counts (the number
of distinct tokens seen before the n-gram); the unigram level interpolates with the uniform
distribution over the whole vocabulary, so every id (seen or not) gets a probability and the
probabilities of one context sum to 1. A position with a shorter history than `order - 1` (the
start of a window) starts from the order its history allows.

N-grams are int64 keys `sum(id_j * V^j)`, counted with `np.unique` and looked up with
`np.searchsorted`, so a few million tokens take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class _Level:
    """One order: sorted n-gram keys with their (raw or continuation) counts, and per history
    (sorted keys) its total count and the discount mass `D1*N1 + D2*N2 + D3*N3+`."""

    keys: np.ndarray
    counts: np.ndarray
    hist_keys: np.ndarray
    hist_totals: np.ndarray
    hist_gamma: np.ndarray
    discounts: np.ndarray  # D(0)=0, D(1), D(2), D(3+)


@dataclass(frozen=True)
class KneserNey:
    """A trained model: `levels[k-1]` holds order k."""

    order: int
    vocab_size: int
    levels: list[_Level]


def _discounts(counts: np.ndarray) -> np.ndarray:
    n = [int(np.sum(counts == i)) for i in (1, 2, 3, 4)]
    d = np.array([0.0, 0.5, 1.0, 1.5])  # used where the count-of-counts leave a discount undefined
    if n[0] and n[1]:
        y = n[0] / (n[0] + 2 * n[1])
        for i in (1, 2, 3):
            if n[i - 1]:
                d[i] = i - (i + 1) * y * n[i] / n[i - 1]
    return np.clip(d, [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0])


def _level(keys: np.ndarray, counts: np.ndarray, vocab: int) -> _Level:
    discounts = _discounts(counts)
    hist = keys // vocab
    hist_keys, start = np.unique(hist, return_index=True)  # keys are sorted, so histories are contiguous
    totals = np.add.reduceat(counts, start) if len(keys) else np.zeros(0, np.int64)
    per = discounts[np.minimum(counts, 3)]
    gamma = np.add.reduceat(per, start) if len(keys) else np.zeros(0)
    return _Level(keys=keys, counts=counts, hist_keys=hist_keys, hist_totals=totals.astype(np.float64), hist_gamma=gamma, discounts=discounts)


def _flatten(windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Windows -> (all ids, position of each id within its window)."""
    lengths = np.array([len(w) for w in windows], dtype=np.int64)
    flat = np.concatenate([np.asarray(w, dtype=np.int64) for w in windows]) if windows else np.zeros(0, np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return flat, np.arange(len(flat), dtype=np.int64) - starts


def _gram_keys(flat: np.ndarray, pos: np.ndarray, k: int, vocab: int) -> np.ndarray:
    """Keys of the k-grams that end at a position with at least k-1 tokens before it in its window."""
    ends = np.nonzero(pos >= k - 1)[0]
    key = np.zeros(len(ends), dtype=np.int64)
    for m in range(k - 1, -1, -1):  # oldest token is the most significant digit
        key = key * vocab + flat[ends - m]
    return key


def train_kneser_ney(windows: list[np.ndarray], vocab_size: int, order: int = 3) -> KneserNey:
    """Count the n-grams inside each window (lists of token ids; n-grams never cross windows) and
    build the interpolated modified KN model of `order` (>= 1) over `vocab_size` ids."""
    if order < 1:
        raise ValueError("order must be >= 1")
    if float(vocab_size) ** order >= 2.0**62:
        raise ValueError(f"order {order} over {vocab_size} ids overflows int64 n-gram keys; lower the order")
    flat, pos = _flatten(windows)
    levels = []
    for k in range(1, order + 1):
        if k == order:
            keys, counts = np.unique(_gram_keys(flat, pos, k, vocab_size), return_counts=True)
        else:  # continuation count: distinct tokens seen right before the k-gram
            longer = np.unique(_gram_keys(flat, pos, k + 1, vocab_size))
            keys, counts = np.unique(longer % (vocab_size**k), return_counts=True)
        levels.append(_level(keys, counts.astype(np.int64), vocab_size))
    return KneserNey(order=order, vocab_size=vocab_size, levels=levels)


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[key] for each query key, 0 where the key is absent."""
    if not len(sorted_keys):
        return np.zeros(len(query), dtype=values.dtype)
    idx = np.minimum(np.searchsorted(sorted_keys, query), len(sorted_keys) - 1)
    return np.where(sorted_keys[idx] == query, values[idx], 0)


def probabilities(model: KneserNey, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """P(target | context) for each row. `contexts`: int array `[m, order-1]` of the preceding
    ids, oldest first, -1 where there is no token (window start); `targets`: `[m]` ids."""
    v = model.vocab_size
    targets = np.asarray(targets, dtype=np.int64)
    contexts = np.asarray(contexts, dtype=np.int64).reshape(len(targets), model.order - 1)
    uni = model.levels[0]
    total = float(uni.hist_totals.sum()) if len(uni.hist_totals) else 0.0
    if total > 0:
        c = _lookup(uni.keys, uni.counts, targets)
        gamma = float(uni.hist_gamma.sum())
        p = (np.maximum(c - uni.discounts[np.minimum(c, 3)], 0.0) + gamma / v) / total
    else:
        p = np.full(len(targets), 1.0 / v)
    hist = np.zeros(len(targets), dtype=np.int64)
    valid = np.ones(len(targets), dtype=bool)
    for k in range(2, model.order + 1):
        prev = contexts[:, model.order - k]  # the token k-1 back
        valid &= prev >= 0
        hist = hist + np.maximum(prev, 0) * v ** (k - 2)
        level = model.levels[k - 1]
        tot = _lookup(level.hist_keys, level.hist_totals, hist)
        use = valid & (tot > 0)
        if not use.any():
            continue
        c = _lookup(level.keys, level.counts, hist * v + targets)
        gamma = _lookup(level.hist_keys, level.hist_gamma, hist)
        new = (np.maximum(c - level.discounts[np.minimum(c, 3)], 0.0) + gamma * p) / np.where(use, tot, 1.0)
        p = np.where(use, new, p)
    return p


def evaluate_windows(model: KneserNey, windows: list[np.ndarray]) -> dict[str, float]:
    """Per-token `perplexity` and `loss` (mean NLL, nats) of every id after the first in each
    window, each given the ids before it in the same window: the targets an LSTM LM predicts."""
    flat, pos = _flatten(windows)
    rows = np.nonzero(pos >= 1)[0]
    if not len(rows):
        return {"perplexity": float("nan"), "loss": float("nan"), "tokens": 0.0}
    n = model.order - 1
    contexts = np.full((len(rows), n), -1, dtype=np.int64)
    for m in range(1, n + 1):  # column n - m holds the token m back
        ok = pos[rows] >= m
        contexts[ok, n - m] = flat[rows[ok] - m]
    p = probabilities(model, contexts, flat[rows])
    loss = float(-np.mean(np.log(np.maximum(p, 1e-300))))
    return {"perplexity": float(np.exp(min(loss, 50.0))), "loss": loss, "tokens": float(len(rows))}
