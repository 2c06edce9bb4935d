"""Identity-term canonicalisation of a summarizer's input: every term of the audit lexicon's
counterfactual pairs (he/she, his/her, 他/她, ...) is mapped to one representative of its
connected group of pairs before the text is encoded, so swapping identity terms cannot change
the model's scores (the output keeps the original sentences)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import regex

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import is_cjk, load_lexicon


def canonical_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Pairs -> lower-cased term -> representative of its group (terms linked by pairs, any
    direction; the representative is the group's alphabetically first term)."""
    parent: dict[str, str] = {}

    def find(term: str) -> str:
        while parent.setdefault(term, term) != term:
            term = parent[term]
        return term

    for a, b in pairs:
        ra, rb = find(a.lower()), find(b.lower())
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {term: find(term) for term in list(parent)}


@lru_cache(maxsize=2)
def canonicaliser(languages: tuple[str, ...] = ("en", "zh")) -> Callable[[str], str]:
    """The built-in lexicon's pairs for `languages` -> a function text -> text with every pair
    term replaced by its representative (EN on word boundaries, case-insensitive; CJK by substring)."""
    mapping = canonical_map(load_lexicon(AuditConfig(languages=list(languages))).pairs)
    terms = sorted(mapping, key=len, reverse=True)
    latin = [t for t in terms if not is_cjk(t)]
    cjk = [t for t in terms if is_cjk(t)]
    parts = ([r"\b(?:" + "|".join(regex.escape(t) for t in latin) + r")\b"] if latin else []) + [regex.escape(t) for t in cjk]
    if not parts:
        return lambda text: text
    pattern = regex.compile("|".join(parts), flags=regex.IGNORECASE)
    return lambda text: pattern.sub(lambda m: mapping[m.group(0).lower()], text)
