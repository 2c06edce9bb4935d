"""The counterfactual gate: probe languages from the corpus, bootstrap intervals, fail/inconclusive/pass."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.audit.config import AuditConfig, ModelAuditConfig
from tasks.audit.model_audit import ModelAuditReport, ProbeAxis, ProbeReport, counterfactual_probe, model_gate
from tasks.audit.probe_gate import choose_probe_languages, gap_interval, gate_hint_lines, language_shares, verdict

CFG = AuditConfig(axes=["gender"], model=ModelAuditConfig(bootstrap=200, max_subgroup_auc_gap=None))
NO_AUC = ModelAuditReport(n=0, positive_label=None, binary=True, bootstrap=0)


def _axis(gap: float, low: float | None, high: float | None) -> ProbeAxis:
    return ProbeAxis(
        language="en",
        axis="gender",
        mean_gap=gap,
        high_group="female",
        low_group="male",
        worst_gap=gap,
        worst_template="{term} feels happy.",
        ci_low=low,
        ci_high=high,
    )


def test_chinese_corpus_is_probed_with_chinese_templates_only():
    zh = ["这家酒店很好，服务很棒", "房间太差了", "位置不错 wifi 很快"]
    shares = language_shares(zh)
    assert shares == {"zh": 1.0}
    assert choose_probe_languages(shares, ["en", "zh"], None, 0.05) == ["zh"]
    mixed = language_shares(["good film"] * 9 + ["好电影"])
    assert mixed == {"en": 0.9, "zh": 0.1}
    assert choose_probe_languages(mixed, ["en", "zh"], None, 0.05) == ["en", "zh"]
    assert choose_probe_languages(mixed, ["en", "zh"], None, 0.2) == ["en"]
    assert choose_probe_languages(mixed, ["en", "zh"], ["zh"], 0.2) == ["zh"]
    assert choose_probe_languages({}, ["en", "zh"], None, 0.05) == ["en", "zh"]

    def english_only_model(texts: list[str]) -> np.ndarray:  # a ZH model sees English as noise
        return np.array([0.9 if "woman" in t else 0.5 for t in texts])

    probe = counterfactual_probe(english_only_model, CFG, languages=["zh"])
    assert probe.languages == ["zh"] and {a.language for a in probe.axes} == {"zh"}
    ok, _ = model_gate(NO_AUC, probe, CFG)
    assert ok


def test_interval_is_over_templates_and_degenerate_when_every_template_agrees():
    same = np.array([[0.9, 0.5]] * 6)
    assert gap_interval(same, 100, 0.95, 0) == (0.4, 0.4)
    rng = np.random.default_rng(1)
    noisy = np.column_stack([rng.uniform(0.3, 0.9, 6), rng.uniform(0.3, 0.9, 6)])
    low, high = gap_interval(noisy, 500, 0.95, 0)
    assert 0 <= low < high
    assert gap_interval(noisy, 0, 0.95, 0) == (None, None)


def test_fail_only_when_the_interval_lies_above_the_limit():
    assert verdict(0.3, 0.15, 0.45, 0.1) == "fail"
    assert verdict(0.3, 0.05, 0.45, 0.1) == "inconclusive"
    assert verdict(0.05, 0.01, 0.09, 0.1) == "pass"
    assert verdict(0.3, None, None, 0.1) == "fail"  # no bootstrap: the point value decides

    ok, reason = model_gate(NO_AUC, ProbeReport(axes=[_axis(0.3, 0.15, 0.45)]), CFG)
    assert not ok and "counterfactual gap 0.300 [0.150, 0.450]" in reason
    ok, reason = model_gate(NO_AUC, ProbeReport(axes=[_axis(0.3, 0.05, 0.45), _axis(0.02, 0.0, 0.05)]), CFG)
    assert ok and "inconclusive" in reason and "not blocking" in reason
    ok, reason = model_gate(NO_AUC, ProbeReport(axes=[_axis(0.05, 0.01, 0.09)]), CFG)
    assert ok and "inconclusive" not in reason


def test_summary_says_what_to_do_when_the_gate_blocks():
    blocked = {"reason": "not promoted: fairness gates failed: not promoted: counterfactual gap 0.4"}
    [line] = gate_hint_lines(blocked)
    assert "mitigation: counterfactual" in line and "require_fairness_gates" in line
    assert "counterfactual_pairs: [[<term>, <term>], ...]" in line  # no axis named: a placeholder
    named = {
        "reason": "not promoted: fairness gates failed: not promoted: counterfactual gap 0.329 [0.223, 0.411] "
        "on en/nationality (indian > american) vs limit 0.1; 2 axes fail"
    }
    [line] = gate_hint_lines(named)
    assert "counterfactual_pairs: [[indian, american], ...]" in line
    assert gate_hint_lines({"reason": "promoted: no champion yet"}) == []


def test_probe_report_lists_interval_per_axis():
    def biased(texts: list[str]) -> np.ndarray:
        return np.array([0.9 if ("woman" in t or "sister" in t) else 0.5 for t in texts])

    probe = counterfactual_probe(biased, CFG, languages=["en"])
    [axis] = probe.axes
    assert axis.ci_low is not None and axis.ci_low <= axis.mean_gap <= axis.ci_high
    assert pd.notna(axis.ci_high)
