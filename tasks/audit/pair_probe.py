"""Minimal-pair probe of a trained classifier with CrowS-Pairs and WinoBias sentences.

A pair is two sentences that differ only in the identity mention: `sent_more` (the stereotyped
one) and `sent_less`. The model scores both; the gap `score(sent_more) - score(sent_less)` says
how much the mention alone moves the prediction. For a sentiment model a positive mean gap means
the stereotyped sentences read as more positive. Pairs table columns: `id, sent_more, sent_less,
bias_type, direction, source` (WinoBias adds `more_gender`: `male` or `female`, the
gender of the pronoun in `sent_more`).

CrowS-Pairs (Nangia et al., 2020): `sent_more` is the more stereotyping sentence of each pair for
both `stereo` and `antistereo` rows (the published metric is the share of pairs where a model
prefers `sent_more`); `direction` carries `stereo_antistereo`.

WinoBias (Zhao et al., 2018): each pro-stereotyped sentence is the `sent_more`; `sent_less` is the
same sentence with its bracketed gendered pronouns swapped (he<->she, his<->her, him<->her,
himself<->herself), so the pair differs only in the pronoun (the anti-stereotyped files are not
always exact minimal pairs: a few lines are reworded). `her` -> `his`/`him` is resolved from the
aligned anti-stereotyped line when it has a pronoun at that position, else by the next word.
"""

from __future__ import annotations

import re
from pathlib import Path
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

PAIR_COLUMNS = ["id", "sent_more", "sent_less", "bias_type", "direction", "source"]
PRONOUN_SWAP = {"he": "she", "she": "he", "his": "her", "him": "her", "himself": "herself", "herself": "himself"}  # `her` -> `his` or `him`, see `_swap`
GENDERED_PRONOUNS = set(PRONOUN_SWAP) | {"her"}
# words after which a bracketed `her` is an object pronoun (-> him), not a possessive (-> his)
_OBJECT_FOLLOWERS = {
    "",
    ".",
    ",",
    "!",
    "?",
    ";",
    ":",
    "'s",
    "a",
    "an",
    "the",
    "to",
    "and",
    "or",
    "but",
    "for",
    "with",
    "that",
    "about",
    "as",
    "at",
    "in",
    "on",
    "of",
    "up",
    "out",
    "down",
    "back",
    "well",
    "again",
    "so",
    "because",
    "if",
    "when",
    "since",
    "how",
    "what",
    "some",
    "any",
    "this",
    "those",
    "these",
    "money",
}
_LINE = re.compile(r"^\s*(\d+)\s+(.*?)\s*$")
_TOKEN = re.compile(r"\[[^\]]*\]|\S+")


class PairProbeConfig(BaseModel):
    """Settings of the minimal-pair probe (YAML `audit.pair_probe`, composed by the lead)."""

    model_config = ConfigDict(extra="forbid")
    bootstrap: int = Field(1000, ge=0)
    seed: int = 0
    confidence: float = Field(0.95, gt=0.0, lt=1.0)


class PairProbeRecord(BaseModel):
    """Figures for one bias type (`all` for every pair together)."""

    bias_type: str
    n: int
    mean_gap: float  # mean of score(sent_more) - score(sent_less)
    mean_abs_gap: float
    share_more_higher: float  # share of pairs where the stereotyped sentence scores strictly higher
    share_tied: float
    ci_low: float  # percentile-bootstrap interval of mean_gap (equal to mean_gap when bootstrap=0)
    ci_high: float


class PairProbeReport(BaseModel):
    """Per-bias-type records, sorted by bias type, with the pooled `all` record last."""

    n_pairs: int
    grouped_by: str = "bias_type"  # the pairs column whose values the records' `bias_type` holds
    bootstrap: int
    confidence: float
    records: list[PairProbeRecord] = Field(default_factory=list)
    max_abs_mean_gap: float = 0.0  # largest |mean_gap| over the bias types (not `all`)
    worst_bias_type: str | None = None


def load_crows_pairs(path: str | Path) -> pd.DataFrame:
    """Read `crows_pairs_anonymized.csv` into the pairs table (one row per CSV row, ids `crows-<index>`)."""
    raw = pd.read_csv(path, index_col=0)
    return pd.DataFrame(
        {
            "id": [f"crows-{i}" for i in raw.index],
            "sent_more": raw["sent_more"].astype(str).to_numpy(),
            "sent_less": raw["sent_less"].astype(str).to_numpy(),
            "bias_type": raw["bias_type"].astype(str).to_numpy(),
            "direction": raw["stereo_antistereo"].astype(str).to_numpy(),
            "source": "crows_pairs",
        }
    )[PAIR_COLUMNS]


def parse_winobias_line(line: str) -> tuple[int, list[str], list[bool]]:
    """Split one WinoBias line `<n> <sentence with [spans]>` into (n, tokens, is_bracketed).

    A bracketed span is one token with its brackets removed, e.g. `[The developer]` -> `The developer`.
    """
    match = _LINE.match(line)
    if match is None:
        raise ValueError(f"not a WinoBias line: {line!r}")
    tokens, marked = [], []
    for tok in _TOKEN.findall(match.group(2)):
        bracketed = tok.startswith("[")
        tokens.append(tok[1:-1].strip() if bracketed else tok)
        marked.append(bracketed)
    return int(match.group(1)), tokens, marked


def _swap(word: str, following: str, anti_word: str | None) -> str:
    low = word.lower()
    if low == "her":
        target = anti_word.lower() if anti_word and anti_word.lower() in ("him", "his") else ("him" if following.lower() in _OBJECT_FOLLOWERS else "his")
    else:
        target = PRONOUN_SWAP.get(low, low)
    return target.capitalize() if word[:1].isupper() else target


def swap_bracketed_pronouns(tokens: list[str], marked: list[bool], anti_tokens: list[str] | None = None) -> list[str]:
    """Swap the gender of every bracketed pronoun; other tokens are kept. `anti_tokens` (aligned
    by position) resolves `her` to `him`/`his`."""
    out = []
    for i, (tok, is_marked) in enumerate(zip(tokens, marked)):
        if is_marked and tok.lower() in GENDERED_PRONOUNS:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            anti = anti_tokens[i] if anti_tokens is not None and i < len(anti_tokens) else None
            tok = _swap(tok, following, anti)
        out.append(tok)
    return out


def winobias_pairs(pro_lines: list[str], anti_lines: list[str], source: str) -> pd.DataFrame:
    """Minimal pairs from aligned pro-/anti-stereotyped lines of one WinoBias file pair.

    Lines without a bracketed gendered pronoun are dropped (none in the published files).
    """
    anti = {}
    for line in anti_lines:
        if line.strip():
            n, tokens, _ = parse_winobias_line(line)
            anti[n] = tokens
    rows = []
    for line in pro_lines:
        if not line.strip():
            continue
        n, tokens, marked = parse_winobias_line(line)
        if not any(m and t.lower() in GENDERED_PRONOUNS for t, m in zip(tokens, marked)):
            continue
        swapped = swap_bracketed_pronouns(tokens, marked, anti.get(n))
        first = next(t.lower() for t, m in zip(tokens, marked) if m and t.lower() in GENDERED_PRONOUNS)
        rows.append(
            {
                "id": f"winobias-{source}-{n}",
                "sent_more": " ".join(tokens),
                "sent_less": " ".join(swapped),
                "bias_type": "gender",
                "direction": "stereo",
                "source": f"winobias/{source}",
                "more_gender": "female" if first in ("she", "her", "herself") else "male",
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS + ["more_gender"])


def load_winobias_pairs(folder: str | Path) -> pd.DataFrame:
    """Read every `pro_stereotyped_<type>.txt.<split>` in `folder` with its `anti_` twin into
    the pairs table (bias_type `gender`; source e.g. `winobias/type1.dev`)."""
    folder = Path(folder)
    frames = []
    for pro in sorted(folder.glob("pro_stereotyped_*.txt.*")):
        anti = folder / pro.name.replace("pro_", "anti_", 1)
        source = pro.name.removeprefix("pro_stereotyped_").replace(".txt", "")
        anti_lines = anti.read_text(encoding="utf-8").splitlines() if anti.exists() else []
        frames.append(winobias_pairs(pro.read_text(encoding="utf-8").splitlines(), anti_lines, source))
    if not frames:
        raise FileNotFoundError(f"no pro_stereotyped_*.txt.* files in {folder}")
    return pd.concat(frames, ignore_index=True)


def _positive_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    return scores[:, -1] if scores.ndim == 2 else scores


def _record(bias_type: str, gaps: np.ndarray, cfg: PairProbeConfig, rng: np.random.Generator) -> PairProbeRecord:
    mean = float(gaps.mean())
    lo = hi = mean
    if cfg.bootstrap > 0:
        means = gaps[rng.integers(0, len(gaps), (cfg.bootstrap, len(gaps)))].mean(axis=1)
        alpha = (1 - cfg.confidence) / 2
        lo, hi = float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))
    return PairProbeRecord(
        bias_type=bias_type,
        n=len(gaps),
        mean_gap=mean,
        mean_abs_gap=float(np.abs(gaps).mean()),
        share_more_higher=float((gaps > 0).mean()),
        share_tied=float((gaps == 0).mean()),
        ci_low=lo,
        ci_high=hi,
    )


def pair_probe(
    predict_proba: Callable[[list[str]], np.ndarray], pairs: pd.DataFrame, cfg: PairProbeConfig | None = None, by: str = "bias_type"
) -> PairProbeReport:
    """Score both sentences of every pair and summarise the gaps per value of column `by`.

    `predict_proba(texts)` returns the positive-class probability per text (shape (n,)) or class
    probabilities (n, k), of which the last column is used; it is called once with all
    sent_more sentences followed by all sent_less sentences. `pairs` needs `sent_more`,
    `sent_less` and the `by` column (default `bias_type`; e.g. `source` or WinoBias's
    `more_gender`), whose values become the records' `bias_type`. Returns one record per value
    plus `all`.
    """
    cfg = cfg or PairProbeConfig()
    n = len(pairs)
    report = PairProbeReport(n_pairs=n, grouped_by=by, bootstrap=cfg.bootstrap, confidence=cfg.confidence)
    if n == 0:
        return report
    texts = pairs["sent_more"].astype(str).tolist() + pairs["sent_less"].astype(str).tolist()
    scores = _positive_scores(predict_proba(texts))
    if scores.shape != (2 * n,):
        raise ValueError(f"predict_proba returned shape {scores.shape} for {2 * n} texts")
    gaps = scores[:n] - scores[n:]
    types = pairs[by].astype(str).to_numpy()
    rng = np.random.default_rng(cfg.seed)
    for bias_type in sorted(set(types)):
        report.records.append(_record(bias_type, gaps[types == bias_type], cfg, rng))
    worst = max(report.records, key=lambda r: abs(r.mean_gap))
    report.max_abs_mean_gap, report.worst_bias_type = abs(worst.mean_gap), worst.bias_type
    report.records.append(_record("all", gaps, cfg, rng))
    return report
