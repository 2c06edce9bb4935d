from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tasks.clean.config import CleanConfig
from tasks.clean.pii import PiiParams
from tasks.clean.pii import Pii, detectors, find_spans, protect_quarantine, redact
from tasks.clean.pii_eval import load_cases, score_cases
from tasks.clean.pii_numbers import card_number_valid
from tasks.clean.plan import build_plan

FIXTURES = Path(__file__).parents[2] / "fixtures"
ALL = list(PiiParams().types)


def red(*texts, types=ALL):
    text, counts = redact(pa.array(list(texts), pa.string()), types)
    return text.to_pylist(), counts


def test_each_type_replaced_and_counted():
    texts, counts = red(
        "mail john.doe@example.com now",
        "card 4111 1111 1111 1111 ok",
        "host 192.168.0.1 and 2001:db8::1",
        "call +1 (415) 555-2671 or 13812345678 or (020) 7946-0958",
        "IBAN GB82 WEST 1234 5698 7654 32 and SSN 536-22-1987",
        "Dear Mr. John Smith, we ship to 350 Fifth Avenue, New York, NY 10118.",
    )
    assert texts == [
        "mail <EMAIL> now",
        "card <CARD> ok",
        "host <IP> and <IP>",
        "call <PHONE> or <PHONE> or <PHONE>",
        "IBAN <IBAN> and SSN <SSN>",
        "Dear Mr. <PERSON>, we ship to <ADDRESS>.",
    ]
    assert counts == {"email": 1, "iban": 1, "card": 1, "ssn": 1, "ip": 2, "phone": 3, "address": 1, "person": 1}


def test_hard_negatives_left_alone():
    plain = [
        "profits rose 76% to $1.13bn (£600m) in 2004",
        "at 12:30 on 10.5.2004",
        "version 1.2.3.4 of the app",
        "ISBN 978-0-306-40615-7",
        "Order #112-4837261-9937010 shipped",
        "SKU 7340-2281-006",
        "IBAN GB82 WEST 1234 5698 7654 33",
        "SSN 000-12-3456",
        "Order 1234 5678 1234 5670 packed",
    ]
    texts, counts = red(*plain)
    assert texts == plain and sum(counts.values()) == 0


def test_card_needs_network_length_and_luhn():
    assert card_number_valid("4111111111111111") and not card_number_valid("4111111111111112")
    assert not card_number_valid("1234567812345670")  # Luhn-valid, but no card network starts with 1
    assert not card_number_valid("9780306406157")


def test_types_follow_configured_order():
    text = "pay DE89 3704 0044 0532 0130 00"
    assert find_spans(text, detectors(PiiParams(types=["iban", "card"]))) == [(4, 31, "iban")]


def test_step_never_drops():
    out = Pii(PiiParams()).process(pa.chunked_array([pa.array(["a@b.io x"])]))
    assert out.reasons is None and out.replaced["email"] == 1


def test_config_rejects_unknown_region_and_type():
    with pytest.raises(ValidationError, match="phone_regions"):
        PiiParams(phone_regions=["XX"])
    with pytest.raises(ValidationError):
        CleanConfig.model_validate([{"pii": {"types": ["passport"]}}])


def _cases(name):
    return load_cases(FIXTURES / name)


def _run(texts):
    return redact(pa.array(texts, pa.string()), ALL)[0].to_pylist()


def test_fixture_recall_and_precision_floors():
    """Floors on the labelled fixtures (bench/pii.py prints the table): the dev set the rules were written on,
    and the held-out set written afterwards."""
    dev = score_cases(_cases("pii_cases.jsonl"), _run)
    assert sum(s.gold for s in dev.types.values()) >= 150 and len(_cases("pii_cases.jsonl")) >= 200
    for kind, score in dev.types.items():
        assert score.recall >= 0.9, (kind, dev.misses)
        assert score.precision >= (0.9 if kind == "person" else 0.95), (kind, dev.false_positives)
    held = score_cases(_cases("pii_cases_heldout.jsonl"), _run)
    for kind in ("email", "phone", "ip", "card", "iban", "ssn"):
        assert held.types[kind].recall == 1.0 and held.types[kind].precision >= 0.95, (kind, held.misses, held.false_positives)
    assert held.types["person"].recall >= 0.5 and held.types["address"].recall >= 0.6


def _rows(texts, summaries):
    return pa.table(
        {"id": [f"r{i}" for i in range(len(texts))], "text": texts, "label": ["x"] * len(texts), "summary": summaries, "score": list(range(len(texts)))}
    )


def test_carried_string_columns_redacted_and_counted():
    plan = build_plan(CleanConfig.model_validate(["pii"]), quarantine_encoding_errors=False)
    kept, _, counters = plan.run([_rows(["write to ann@example.com today"], ["by ann@example.com, +44 20 7946 0958"])])
    assert kept[0].column("summary").to_pylist() == ["by <EMAIL>, <PHONE>"]
    assert counters.steps["pii"].replaced["email"] == 2 and counters.steps["pii"].replaced["phone"] == 1
    only_text = build_plan(CleanConfig.model_validate([{"pii": {"columns": []}}]), quarantine_encoding_errors=False)
    kept, _, _ = only_text.run([_rows(["a b c"], ["ann@example.com"])])
    assert kept[0].column("summary").to_pylist() == ["ann@example.com"]
    missing = build_plan(CleanConfig.model_validate([{"pii": {"columns": ["title"]}}]), quarantine_encoding_errors=False)
    with pytest.raises(ValueError, match="'title'"):
        missing.run([_rows(["a b c"], ["x"])])


QUARANTINE_TEXTS = [
    "hi ann@example.com",
    "call me at 415-555-2671 about the long room review please",
    "call me at 415-555-2671 about the long room review please",
]


def _quarantine(option):
    cfg = CleanConfig.model_validate([{"length": {"min_words": 3}}, "exact_dedup", {"pii": {"quarantine": option}}])
    _, quarantined, _ = build_plan(cfg, quarantine_encoding_errors=False).run([_rows(QUARANTINE_TEXTS, ["from ann@example.com"] * 3)])
    return {row["reason"]: row for row in quarantined.to_pylist()}


def test_quarantine_redacted_by_default():
    rows = _quarantine("redact")
    assert rows["too_short"]["text"] == "hi <EMAIL>" and rows["duplicate"]["text"].startswith("call me at <PHONE>")
    assert rows["too_short"]["summary"] == "from <EMAIL>"


def test_quarantine_hash_and_keep():
    import hashlib

    rows = _quarantine("hash")
    assert rows["too_short"]["text"] == "sha256:" + hashlib.sha256(QUARANTINE_TEXTS[0].encode()).hexdigest()
    assert rows["too_short"]["summary"].startswith("sha256:") and rows["too_short"]["score"] == 0
    assert _quarantine("keep")["too_short"]["text"] == QUARANTINE_TEXTS[0]


def test_without_pii_step_quarantine_unchanged():
    _, quarantined, _ = build_plan(CleanConfig.model_validate(["length"]), False).run([_rows(["hi a@b.io"], ["x"])])
    assert quarantined.column("text").to_pylist() == ["hi a@b.io"]
    assert protect_quarantine(quarantined.slice(0, 0), PiiParams()).num_rows == 0


PHONES = ["+1 (415) 555-2671", "415.555.2671", "(020) 7946-0958", "+86 138 0013 8000", "+49 30 901820", "01 42 68 53 00", "+91 98765 43210", "13800138000"]
emails = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,5})?@[a-z]{2,8}\.(com|org|cn)", fullmatch=True)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
words = st.sampled_from(["hello", "call", "me", "at", "or", ",", "the", "房间", "email:", "\n"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(emails, ipv4, st.sampled_from(PHONES), words), min_size=1, max_size=10))
def test_no_pii_survives(parts):
    out = red(" ".join(parts))[0][0]
    assert find_spans(out, detectors(PiiParams(types=["email", "ip", "phone"]))) == [], out
    for part in parts:
        if "@" in part or part in PHONES or part.count(".") == 3:
            assert part not in out, (part, out)
