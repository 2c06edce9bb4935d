import pytest

from tasks.audit.config import AuditConfig, GateConfig
from tasks.audit.corpus import count_shard
from tasks.audit.corpus_report import build_report
from tasks.audit.gates import GateFailure, enforce_gates, evaluate_gates, needs_mitigation


def _cfg(action: str, **extra) -> AuditConfig:
    return AuditConfig(
        axes=["gender"],
        gates=[
            GateConfig(name="gap", metric="max_label_rate_gap", threshold=0.1, action=action),
            GateConfig(name="size", metric="min_group_docs", threshold=50, action="warn"),
        ],
        **extra,
    )


def test_warn_gate_reports_but_does_not_raise(make_corpus):
    cfg = _cfg("warn")
    results = build_report(count_shard(make_corpus(female_pos=0.8), cfg), None, cfg).gates
    assert [r.passed for r in results] == [False, True]
    enforce_gates(results)  # warn: no exception
    assert not needs_mitigation(results, cfg)


def test_fail_gate_raises_with_gate_group_and_figures(make_corpus):
    cfg = _cfg("fail")
    report = build_report(count_shard(make_corpus(female_pos=0.8), cfg), None, cfg)
    with pytest.raises(GateFailure) as err:
        enforce_gates(evaluate_gates(report, cfg))
    message = str(err.value)
    assert "gate gap" in message and "gender/female" in message
    assert "0.800" in message and "0.500" in message and "+0.300" in message and "threshold 0.1" in message


def test_fail_gate_passes_on_clean_corpus_and_min_docs_gate_trips_on_small_groups(make_corpus):
    cfg = _cfg("fail")
    enforce_gates(build_report(count_shard(make_corpus(), cfg), None, cfg).gates)
    small = build_report(count_shard(make_corpus(n_per_group=30), cfg), None, cfg).gates[1]
    assert not small.passed and small.value == 30 and "30 docs" in small.message


def test_mitigate_gate_requests_mitigation_only_when_configured(make_corpus):
    cfg = _cfg("mitigate", mitigation="reweight")
    results = build_report(count_shard(make_corpus(female_pos=0.8), cfg), None, cfg).gates
    assert needs_mitigation(results, cfg)
    assert not needs_mitigation(results, _cfg("mitigate"))
    assert needs_mitigation([], _cfg("warn", mitigation="counterfactual", mitigate_always=True))


def test_every_gate_metric_the_config_accepts_has_one_registered_check():
    from typing import get_args

    from tasks.audit.config import GateMetric
    from tasks.audit.gates import GATE_METRICS

    assert set(GATE_METRICS) == set(get_args(GateMetric))
