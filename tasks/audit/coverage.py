"""Lexicon coverage: which HolisticBias descriptors the identity lexicon recognises as a mention.

Each descriptor of `lexicons/holisticbias_v1.1_en.yaml` is put in HolisticBias's own frame
("I am a <descriptor> person.") and counts as covered when a group of the same axis matches that
text (so a contextual descriptor such as "old" counts: "old person" is an identity context).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import yaml
from pydantic import BaseModel

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import LEXICON_DIR, load_lexicon, term_mask

REFERENCE = LEXICON_DIR / "holisticbias_v1.1_en.yaml"


class Coverage(BaseModel):
    """Descriptors covered per axis and overall, and the ones missed."""

    covered: int
    total: int
    share: float
    per_axis: dict[str, tuple[int, int]]
    missed: dict[str, list[str]]


def lexicon_coverage(cfg: AuditConfig | None = None, reference: Path = REFERENCE) -> Coverage:
    """Coverage of the reference descriptors by the lexicon of `cfg` (default: the built-in one,
    all axes). In: the reference YAML (axis -> descriptors). Out: counts, share and misses."""
    cfg = cfg or AuditConfig()
    lexicon = load_lexicon(cfg)
    descriptors = yaml.safe_load(reference.read_text(encoding="utf-8"))
    per_axis: dict[str, tuple[int, int]] = {}
    missed: dict[str, list[str]] = {}
    for axis, terms in descriptors.items():
        texts = pa.array([f"I am a {t} person." for t in terms])
        hit = None
        for (ax, _), group_terms in lexicon.groups.items():
            if ax == axis:
                mask = term_mask(texts, group_terms)
                hit = mask if hit is None else hit | mask
        flags = [bool(v) for v in hit] if hit is not None else [False] * len(terms)
        per_axis[axis] = (sum(flags), len(terms))
        missed[axis] = [t for t, f in zip(terms, flags) if not f]
    covered = sum(c for c, _ in per_axis.values())
    total = sum(t for _, t in per_axis.values())
    return Coverage(covered=covered, total=total, share=round(covered / total, 4) if total else 0.0, per_axis=per_axis, missed=missed)
