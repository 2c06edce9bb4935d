"""Identity lexicon (built-in EN/ZH term lists + user additions) and document-group matching.

A document belongs to a group when its text mentions one of the group's terms: word-boundary,
case-insensitive matching for terms written in Latin script, substring matching for CJK terms.
Metadata columns (`audit.metadata_groups`: column -> axis) define groups too: one group per
distinct non-null value. Ambiguous descriptors (a lexicon file's `contextual` section: "black",
"old", "trans", ...) count only right before a person noun ("black woman", not "black coffee").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex
import yaml

from tasks.audit.config import AuditConfig

LEXICON_DIR = Path(__file__).parent / "lexicons"
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
_RE2_SPECIAL = set(".^$*+?()[]{}|\\-/")
WORD = regex.compile(r"\p{Han}|[^\W\d_\p{Han}]+(?:'[^\W\d_\p{Han}]+)?")  # words counted for nPMI


@dataclass(frozen=True)
class Lexicon:
    """Terms per (axis, group), counterfactual swap pairs (both directions apply) and probe
    phrases per (language, axis, group) for the model's counterfactual probe."""

    groups: dict[tuple[str, str], list[str]]
    pairs: list[tuple[str, str]]
    probe: dict[tuple[str, str, str], list[str]]


def group_key(axis: str, group: str) -> str:
    """The string key of a group in counts and reports: `axis/group`."""
    return f"{axis}/{group}"


def split_key(key: str) -> tuple[str, str]:
    """Inverse of `group_key`."""
    axis, _, group = key.partition("/")
    return axis, group


def is_cjk(term: str) -> bool:
    """True when the term contains a CJK character (then it is matched by substring)."""
    return bool(_CJK.search(term))


def load_lexicon(cfg: AuditConfig) -> Lexicon:
    """Built-in lists for `cfg.languages` merged with `cfg.lexicon` (or replaced by it).

    Only the axes in `cfg.axes` are kept. Terms are lower-cased and de-duplicated.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    pairs: list[tuple[str, str]] = []
    probe: dict[tuple[str, str, str], list[str]] = {}
    if not cfg.replace_lexicon:
        for lang in cfg.languages:
            data = yaml.safe_load((LEXICON_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
            for axis, by_group in data["axes"].items():
                for group, terms in by_group.items():
                    groups.setdefault((axis, group), []).extend(str(t) for t in terms)
            for (axis, group), terms in contextual_terms(data.get("contextual", {})).items():
                groups.setdefault((axis, group), []).extend(terms)
            pairs.extend((str(a), str(b)) for a, b in data.get("pairs", []))
            for axis, by_group in data.get("probe", {}).items():
                for group, phrases in by_group.items():
                    probe[(lang, axis, group)] = [str(p) for p in phrases]
    for lang, by_axis in cfg.model.probe_terms.items():
        for axis, by_group in by_axis.items():
            for group, phrases in by_group.items():
                probe.setdefault((lang, axis, group), []).extend(phrases)
    for axis, by_group in cfg.lexicon.items():
        for group, terms in by_group.items():
            groups.setdefault((axis, group), []).extend(terms)
    pairs.extend(cfg.counterfactual_pairs)
    kept = {key: list(dict.fromkeys(t.strip().lower() for t in terms if t.strip())) for key, terms in groups.items() if key[0] in cfg.axes}
    probe = {k: list(dict.fromkeys(v)) for k, v in probe.items() if k[1] in cfg.axes}
    return Lexicon(groups=kept, pairs=pairs, probe=probe)


def contextual_terms(section: dict) -> dict[tuple[str, str], list[str]]:
    """A lexicon file's `contextual` section (`person_nouns` and `axes: {axis: {group: [descriptor]}}`)
    -> the phrases `<descriptor> <person noun>` per (axis, group): the only places where an
    ambiguous descriptor counts as an identity mention."""
    nouns = [str(n) for n in section.get("person_nouns", [])]
    return {
        (axis, group): [f"{d} {n}" for d in descriptors for n in nouns]
        for axis, by_group in section.get("axes", {}).items()
        for group, descriptors in by_group.items()
    }


def _re2_escape(term: str) -> str:
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in term)


# RE2's `\b` is ASCII-only ("émuslim" would match "muslim"): a Latin term must instead sit between
# text edges or characters that are not letters, marks, digits or `_` -- except Han characters,
# which Chinese text puts right next to Latin words without a space ("他是Muslim").
_EDGE = r"(?:^|$|[^\p{L}\p{M}\p{N}_]|\p{Han})"


def term_mask(texts: pa.Array, terms: list[str]) -> np.ndarray:
    """Boolean array: which texts mention any of the terms (vectorised with pyarrow.compute).
    Latin terms match whole words only (Unicode-aware edges), case-insensitively; CJK terms match
    as substrings."""
    texts = pc.fill_null(texts, "")
    mask = np.zeros(len(texts), dtype=bool)
    latin = [t for t in terms if not is_cjk(t)]
    cjk = [t for t in terms if is_cjk(t)]
    if latin:
        pattern = _EDGE + "(?:" + "|".join(_re2_escape(t) for t in latin) + ")" + _EDGE
        hit = pc.match_substring_regex(texts, pattern=pattern, ignore_case=True)
        mask |= hit.to_numpy(zero_copy_only=False)
    if cjk:
        pattern = "|".join(_re2_escape(t) for t in cjk)
        mask |= pc.match_substring_regex(texts, pattern=pattern).to_numpy(zero_copy_only=False)
    return mask


def group_masks(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None) -> dict[str, np.ndarray]:
    """Membership masks `{"axis/group": bool array over rows}` from terms and metadata columns.

    Groups with no member in the table are still returned (all False) for lexicon groups, so
    shard counts line up; metadata groups appear only for values that occur.
    """
    lexicon = lexicon or load_lexicon(cfg)
    texts = table.column(cfg.text_column)
    masks = {group_key(a, g): term_mask(texts, terms) for (a, g), terms in lexicon.groups.items()}
    for column, axis in cfg.metadata_groups.items():
        if column not in table.column_names:
            continue
        values = pc.cast(table.column(column), pa.string())
        for value in pc.unique(pc.drop_null(values)).to_pylist():
            hit = pc.fill_null(pc.equal(values, value), False)
            masks[group_key(axis, value)] = hit.to_numpy(zero_copy_only=False)
    return masks


def memberships(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None) -> pd.DataFrame:
    """Long table of group memberships: columns `id, axis, group` (one row per id and group)."""
    ids = np.asarray(table.column(cfg.id_column).to_pylist(), dtype=object)
    rows = []
    for key, mask in group_masks(table, cfg, lexicon).items():
        axis, group = split_key(key)
        rows.append(pd.DataFrame({"id": ids[mask], "axis": axis, "group": group}))
    if not rows:
        return pd.DataFrame({"id": [], "axis": [], "group": []})
    return pd.concat(rows, ignore_index=True)


def doc_words_of_terms(terms: list[str]) -> set[str]:
    """The words the nPMI counter would see in the given terms (to exclude a group's own terms)."""
    return {w for t in terms for w in WORD.findall(t.lower())}
