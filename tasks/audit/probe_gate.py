"""The counterfactual probe as a gate people can trust: probes in the model's languages, a
bootstrap interval on each gap, and a three-way verdict.

- Languages: the share of documents per language is read from the corpus by script (a document
  whose letters are >= 30 % Han is `zh`, one with Latin letters otherwise `en`); the probe runs the
  templates of every language with at least `audit.model.min_language_share` of the documents
  (or the fixed list `audit.model.probe_languages`). A Chinese model is no longer judged on English
  templates it cannot read.
- Interval: the templates are the probe's sampling units; each bootstrap resample draws templates
  with replacement and recomputes the gap (max - min of the group means), percentile interval at
  `audit.confidence`.
- Verdict: `fail` only when the whole interval lies above the limit, `pass` when it lies at or
  below it, `inconclusive` otherwise; inconclusive is reported and does not block promotion.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import regex

_HAN = regex.compile(r"\p{Han}")
_LETTER = regex.compile(r"\p{L}")
_LATIN = regex.compile(r"\p{Latin}")


def document_language(text: str) -> str | None:
    """`zh` when >= 30 % of the letters are Han, `en` when it has Latin letters, else None."""
    letters = len(_LETTER.findall(text or ""))
    if not letters:
        return None
    if len(_HAN.findall(text)) / letters >= 0.3:
        return "zh"
    return "en" if _LATIN.search(text) else None


def language_shares(texts: Iterable[str], limit: int = 20000) -> dict[str, float]:
    """Share of documents per detected language over the first `limit` texts (sorted by language)."""
    found = [document_language(t) for _, t in zip(range(limit), texts)]
    known = [lang for lang in found if lang is not None]
    if not known:
        return {}
    return {lang: round(known.count(lang) / len(found), 4) for lang in sorted(set(known))}


def choose_probe_languages(shares: dict[str, float], available: Iterable[str], fixed: list[str] | None, min_share: float) -> list[str]:
    """The languages whose templates the probe runs: `fixed` when given, else those with at least
    `min_share` of the documents; restricted to `available` (languages with templates). When no
    language qualifies (e.g. an empty corpus), every available language is probed."""
    available = sorted(available)
    if fixed is not None:
        return [lang for lang in fixed if lang in available]
    chosen = [lang for lang in available if shares.get(lang, 0.0) >= min_share]
    return chosen or available


def gap_interval(matrix: np.ndarray, bootstrap: int, confidence: float, seed: int) -> tuple[float | None, float | None]:
    """`matrix[t, g]`: mean score of group g on template t. Percentile interval of the gap
    max_g(mean_t) - min_g(mean_t) over template resamples; (None, None) without resamples."""
    if bootstrap <= 0 or matrix.shape[0] == 0:
        return None, None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, matrix.shape[0], size=(bootstrap, matrix.shape[0]))
    means = matrix[idx].mean(axis=1)  # [B, G]
    gaps = means.max(axis=1) - means.min(axis=1)
    alpha = (1 - confidence) / 2
    return round(float(np.quantile(gaps, alpha)), 4), round(float(np.quantile(gaps, 1 - alpha)), 4)


def verdict(value: float, ci_low: float | None, ci_high: float | None, limit: float) -> str:
    """`fail` when the interval lies entirely above `limit`, `pass` when it lies at or below it,
    `inconclusive` when it contains the limit. Without an interval, the point value decides."""
    low = value if ci_low is None else ci_low
    high = value if ci_high is None else ci_high
    if low > limit:
        return "fail"
    if high <= limit:
        return "pass"
    return "inconclusive"


REMEDY = (
    "what to do: read the probe in evaluate/<model>/report.json (`probe.axes`: gap, interval, groups); "
    "retrain with `audit: {mitigation: counterfactual, mitigate_always: true, counterfactual_pairs: "
    "{pairs}}` (adds identity-swapped copies of the train rows: the built-in pairs swap gender terms "
    "only, so name the failing axis's terms; reweighting did not help on SST-2) and rerun; if the gap "
    "is acceptable for your use after review, promote by hand "
    "(`MlflowClient().set_registered_model_alias(name, 'champion', version)`) or set "
    "`register: {require_fairness_gates: false}`; see docs/baselines_and_gates.md"
)
_FAILING = regex.compile(r"counterfactual gap [^;]*? on \w+/\w+ \((\w+) > (\w+)\)")


def suggested_pairs(reason: str) -> str:
    """The swap pairs the hint suggests for a gate reason: `[[high, low]]` of the worst failing
    probe axis when the reason names it ("... on en/nationality (indian > american) ..."), else a
    placeholder `[[<term>, <term>], ...]`."""
    found = _FAILING.search(reason)
    return f"[[{found.group(1)}, {found.group(2)}], ...]" if found else "[[<term>, <term>], ...]"


def gate_hint_lines(registered: dict) -> list[str]:
    """The run summary's hint under a model kept from `champion` by the fairness gates ([] otherwise),
    with swap pairs suggested from the failing probe axis named in the reason."""
    reason = str(registered.get("reason", ""))
    if "fairness gates failed" not in reason:
        return []
    return ["            " + REMEDY.replace("{pairs}", suggested_pairs(reason))]
