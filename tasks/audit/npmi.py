"""Normalised PMI between identity groups and the vocabulary (as the HF Data Measurements Tool).

Document-level: p(g) = docs mentioning the group / N, p(w) = docs containing w / N,
p(g, w) = docs with both / N; npmi = log(p(g,w) / (p(g) p(w))) / -log p(g,w), in [-1, 1].
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import AuditCounts
from tasks.audit.lexicon import Lexicon, doc_words_of_terms, split_key


class NpmiRecord(BaseModel):
    """One word strongly associated with a group."""

    axis: str
    group: str
    word: str
    npmi: float
    count: int


def npmi(n_gw: int, n_g: int, n_w: int, n: int) -> float:
    """nPMI from document counts; -1 when the pair never co-occurs, 1 for perfect co-occurrence."""
    if n_gw == 0:
        return -1.0
    if n_gw == n:
        return 1.0
    p_gw = n_gw / n
    pmi = math.log(p_gw / ((n_g / n) * (n_w / n)))
    return pmi / -math.log(p_gw)


def npmi_records(counts: AuditCounts, cfg: AuditConfig, lexicon: Lexicon) -> list[NpmiRecord]:
    """Top `cfg.npmi_top_k` words by nPMI per group (co-occurring in >= `cfg.npmi_min_count` docs).

    The group's own terms (and their words) are left out: they co-occur by construction.
    """
    out: list[NpmiRecord] = []
    n = counts.total_docs
    for key, by_word in sorted(counts.group_word_docs.items()):
        n_g = counts.group_docs.get(key, 0)
        if n_g == 0 or n == 0:
            continue
        axis, group = split_key(key)
        own = doc_words_of_terms(lexicon.groups.get((axis, group), []))
        scored = [
            (npmi(c, n_g, counts.word_docs[w], n), w, c) for w, c in by_word.items() if c >= cfg.npmi_min_count and w in counts.word_docs and w not in own
        ]
        scored.sort(key=lambda t: (-t[0], t[1]))
        out.extend(NpmiRecord(axis=axis, group=group, word=w, npmi=round(s, 4), count=c) for s, w, c in scored[: cfg.npmi_top_k])
    return out
