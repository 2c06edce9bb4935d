"""Mitigations: reweighing (Kamiran & Calders 2012) and counterfactual data augmentation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import Lexicon, group_masks, is_cjk, load_lexicon


def reweight_weights(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None) -> pa.Array:
    """float32 instance weights that make the weighted label rates equal across groups.

    Groups overlap (a review can mention a woman and a religion), so the weights are computed per
    *cell*: the set of groups (with >= `cfg.min_group_docs` docs in this table) a row belongs to.
    Row weight = P(cell) P(label) / P(cell, label); then every cell, hence every group and the rest
    of the corpus (unions of cells), has the overall label distribution. Unlabelled rows weigh 1.
    Weights are rescaled to mean 1. A cell lacking some label cannot be equalised exactly.
    """
    n = table.num_rows
    labels = pc.cast(table.column(cfg.label_column), pa.string()).to_pylist()
    masks = [m for m in group_masks(table, cfg, lexicon).values() if m.sum() >= cfg.min_group_docs]
    bits = np.stack(masks, axis=1) if masks else np.zeros((n, 0), dtype=bool)
    _, cell = np.unique(bits, axis=0, return_inverse=True) if n else (None, np.zeros(0, dtype=int))
    cell = np.asarray(cell).reshape(-1)
    labelled = np.array([y is not None for y in labels], dtype=bool)
    label_ids = {y: i for i, y in enumerate(sorted({y for y in labels if y is not None}))}
    y = np.array([label_ids.get(v, -1) for v in labels], dtype=int)
    weights = np.ones(n, dtype=np.float64)
    if labelled.sum() == 0:
        return pa.array(weights.astype(np.float32))
    n_cells, n_labels = int(cell.max()) + 1, len(label_ids)
    joint = np.zeros((n_cells, n_labels))
    np.add.at(joint, (cell[labelled], y[labelled]), 1.0)
    p_cell = joint.sum(axis=1, keepdims=True)
    p_label = joint.sum(axis=0, keepdims=True) / joint.sum()
    expected = p_cell * p_label  # counts each (cell, label) would have without association
    ratio = np.divide(expected, joint, out=np.ones_like(joint), where=joint > 0)
    weights[labelled] = ratio[cell[labelled], y[labelled]]
    weights *= n / weights.sum()
    return pa.array(weights.astype(np.float32))


def swap_map(lexicon: Lexicon) -> dict[str, str]:
    """Lower-cased term -> counterpart, both directions; for an ambiguous term the first pair wins."""
    mapping: dict[str, str] = {}
    for a, b in lexicon.pairs:
        a, b = a.lower(), b.lower()
        mapping.setdefault(a, b)
        mapping.setdefault(b, a)
    return mapping


def _match_case(source: str, target: str) -> str:
    if source.isupper() and len(source) > 1:
        return target.upper()
    if source[:1].isupper():
        return target[:1].upper() + target[1:]
    return target


def make_swapper(lexicon: Lexicon):
    """A function text -> text swapping every pair term at once (EN on word boundaries, keeping
    capitalisation; CJK by substring, longest term first)."""
    mapping = swap_map(lexicon)
    latin = sorted((t for t in mapping if not is_cjk(t)), key=len, reverse=True)
    cjk = sorted((t for t in mapping if is_cjk(t)), key=len, reverse=True)
    parts = []
    if latin:
        parts.append(r"\b(?:" + "|".join(regex.escape(t) for t in latin) + r")\b")
    if cjk:
        parts.append("|".join(regex.escape(t) for t in cjk))
    if not parts:
        return lambda text: text
    pattern = regex.compile("|".join(parts), flags=regex.IGNORECASE)

    def swap(text: str) -> str:
        return pattern.sub(lambda m: _match_case(m.group(0), mapping[m.group(0).lower()]), text)

    return swap


def counterfactual_augment(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None) -> pa.Table:
    """The table plus a term-swapped copy of every row whose text contains a pair term.

    Copies get id `<id>#cf`, the swapped text and every other column unchanged (label included).
    Swaps go both ways (he->she and she->he in the same sentence), for EN and ZH pairs.
    """
    swap = make_swapper(lexicon or load_lexicon(cfg))
    texts = table.column(cfg.text_column).to_pylist()
    swapped = [swap(t) if t else t for t in texts]
    changed = np.array([s != t for s, t in zip(swapped, texts)], dtype=bool)
    if not changed.any():
        return table
    idx = pa.array(np.flatnonzero(changed))
    copies = table.take(idx)
    ids = pc.binary_join_element_wise(pc.cast(copies.column(cfg.id_column), pa.string()), "#cf", "")
    new_text = pa.array([s for s, c in zip(swapped, changed) if c], type=table.schema.field(cfg.text_column).type)
    copies = copies.set_column(copies.schema.get_field_index(cfg.id_column), cfg.id_column, ids.cast(table.schema.field(cfg.id_column).type))
    copies = copies.set_column(copies.schema.get_field_index(cfg.text_column), cfg.text_column, new_text)
    return pa.concat_tables([table, copies])
