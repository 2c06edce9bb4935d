import pyarrow as pa
import pyarrow.compute as pc
import regex
from hypothesis import given, settings, strategies as st

from tasks.clean.config import PiiParams
from tasks.clean.pii import PATTERNS, Pii, _card_span, luhn_valid, redact

ALL = ["email", "card", "ip", "phone"]


def red(*texts):
    text, counts = redact(pa.array(list(texts), pa.string()), ALL)
    return text.to_pylist(), counts


def test_each_type_replaced_and_counted():
    texts, counts = red(
        "mail john.doe@example.com now",
        "card 4111 1111 1111 1111 ok",
        "host 192.168.0.1 and 2001:db8::1",
        "call +1 415-555-0132 or 13812345678",
    )
    assert texts == ["mail <EMAIL> now", "card <CARD> ok", "host <IP> and <IP>", "call <PHONE> or <PHONE>"]
    assert counts == {"email": 1, "card": 1, "ip": 2, "phone": 2}


def test_non_pii_left_alone():
    plain = ["profits rose 76% to $1.13bn (£600m) in 2004", "at 12:30 on 10.5.2004", "version 3.14 of the app"]
    texts, counts = red(*plain)
    assert texts == plain and sum(counts.values()) == 0


def test_card_needs_luhn():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    texts, counts = redact(pa.array(["4111111111111112"]), ["card"])
    assert texts.to_pylist() == ["4111111111111112"] and counts["card"] == 0


def test_step_never_drops():
    out = Pii(PiiParams()).process(pa.chunked_array([pa.array(["a@b.io x"])]))
    assert out.reasons is None and out.replaced["email"] == 1


def _card(prefix: str) -> str:
    digits = prefix
    for check in "0123456789":
        if luhn_valid(digits + check):
            return digits + check
    raise AssertionError


emails = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,5})?@[a-z]{2,8}\.(com|org|cn)", fullmatch=True)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
cards = st.from_regex(r"4[0-9]{14}", fullmatch=True).map(_card)
phones = st.from_regex(r"\+[1-9][0-9] [0-9]{3}-[0-9]{3}-[0-9]{4}|1[3-9][0-9]{9}", fullmatch=True)
words = st.sampled_from(["hello", "call", "me", "at", "or", ",", "the", "房间", "email:", "\n"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(emails, ipv4, cards, phones, words), min_size=1, max_size=12))
def test_no_pii_survives(parts):
    text, _ = redact(pa.array([" ".join(parts)]), ALL)
    for kind in ("email", "ip", "phone"):
        assert not pc.any(pc.match_substring_regex(text, PATTERNS[kind])).as_py(), (kind, text)
    for match in regex.finditer(PATTERNS["card"], text[0].as_py()):
        assert _card_span(match.group(0)) is None, text
