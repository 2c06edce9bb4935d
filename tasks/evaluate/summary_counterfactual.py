"""Counterfactual identity check of an extractive summarizer: swap identity terms (the audit
lexicon's counterfactual pairs, grouped by the axis their terms belong to) in each test document
and count the documents whose selected sentences change. Reported per axis; the largest rate is
compared with `audit.model.max_selection_change_rate` (a gate that feeds promotion)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import Lexicon, load_lexicon
from tasks.audit.mitigate import make_swapper


class AxisSelectionChange(BaseModel):
    """One axis: documents containing a swappable term, how many changed selection, the rate."""

    axis: str
    documents: int
    changed: int
    rate: float
    examples: list[str] = []


class SelectionCheck(BaseModel):
    """Per-axis selection change rates and the gate verdict."""

    axes: list[AxisSelectionChange]
    max_rate: float | None
    threshold: float | None
    passed: bool
    message: str


def axis_swappers(cfg: AuditConfig, lexicon: Lexicon | None = None) -> dict[str, Callable[[str], str]]:
    """Audit config -> axis -> text swapper using only the pairs whose terms belong to that axis
    (pairs whose terms are in no lexicon group fall under `other`)."""
    lexicon = lexicon or load_lexicon(cfg)
    term_axis = {term: axis for (axis, _), terms in lexicon.groups.items() for term in terms}
    by_axis: dict[str, list[tuple[str, str]]] = {}
    for a, b in lexicon.pairs:
        axis = term_axis.get(a.lower()) or term_axis.get(b.lower()) or "other"
        by_axis.setdefault(axis, []).append((a, b))
    return {axis: make_swapper(Lexicon(groups={}, pairs=pairs, probe={})) for axis, pairs in sorted(by_axis.items())}


def selection_check(
    select_many: Callable[[list[str]], list[list[int]]],
    texts: Sequence[str],
    selected: Sequence[Sequence[int]],
    cfg: AuditConfig,
    lexicon: Lexicon | None = None,
) -> SelectionCheck:
    """`select_many(texts) -> selected sentence indices per text`, the test texts and their
    selections -> per axis, the share of documents with a swappable term whose selection changes
    after the swap. Passes when every rate <= `cfg.model.max_selection_change_rate` (or it is null)."""
    threshold = cfg.model.max_selection_change_rate
    axes = []
    for axis, swap in axis_swappers(cfg, lexicon).items():
        swapped = [swap(t) if t else t for t in texts]
        touched = [i for i, (s, t) in enumerate(zip(swapped, texts)) if s != t]
        if not touched:
            continue
        again = select_many([swapped[i] for i in touched])
        changed = [i for i, new in zip(touched, again) if list(new) != list(selected[i])]
        axes.append(
            AxisSelectionChange(
                axis=axis, documents=len(touched), changed=len(changed), rate=round(len(changed) / len(touched), 4), examples=[str(i) for i in changed[:5]]
            )
        )
    max_rate = max((a.rate for a in axes), default=None)
    passed = threshold is None or max_rate is None or max_rate <= threshold
    rates = ", ".join(f"{a.axis} {a.rate:.3f} ({a.changed}/{a.documents})" for a in axes) or "no document has a swappable term"
    limit = "no limit" if threshold is None else f"limit {threshold:g}"
    message = f"selection change under identity swaps: {rates}; {limit}"
    return SelectionCheck(axes=axes, max_rate=max_rate, threshold=threshold, passed=passed, message=message)
