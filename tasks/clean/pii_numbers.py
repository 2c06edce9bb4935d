"""Detectors of number-like PII: e-mail, payment card, IBAN, US SSN, IPv4/IPv6, phone.

Each detector is a `Detector`: an RE2 `prefilter` that pyarrow.compute runs over a whole column
(cheap; rows it does not match are never looked at again) and a Python `find(text)` that returns
the exact spans, validated by a maintained library where one exists: Google's libphonenumber
(`phonenumbers`) for phones, `python-stdnum` for IBAN (mod-97 and national checks), US SSN (area,
group, serial rules) and Luhn; `ipaddress` for IPs. Card numbers also need a card network prefix
(IIN) and length, so Luhn-valid order numbers and ISBNs are left alone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
import regex
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import ssn as std_ssn

Span = tuple[int, int]
MASK = "\u2588"  # stands in for a span already taken: no letter, digit or separator to any detector


@dataclass(frozen=True)
class Detector:
    """One PII type: `prefilter` (RE2, a superset of the type's matches) and `find` (exact spans in a string)."""

    prefilter: str
    find: Callable[[str], list[Span]]


_NOT_NUMBER_CONTEXT = regex.compile(
    r"(?i)(?:\b(?:isbn(?:-1[03])?|issn|ean|upc|sku|part|order|invoice|inv|ref|reference|tracking|serial|sn|lot|case|"
    r"ticket|booking|model|patent|doi|version|ver|release|build|firmware|fw|protocol|section|chapter)"
    r"(?:\s*(?:no|nr|number|#)\.?)?|版本|订单号?|编号|bestellnummer|rechnung|commande|n°)[\s.:#-]*$"
)
_DATE_OR_DECIMAL = regex.compile(r"[0-9]{1,4}([./-])[0-9]{1,2}\1[0-9]{2,4}|[0-9]+\.[0-9]+")


def _after_non_number_word(text: str, start: int) -> bool:
    """True when the words just before `start` say the number is an id, version or code (order no., ISBN, ...)."""
    return _NOT_NUMBER_CONTEXT.search(text[max(0, start - 24) : start]) is not None


# --- e-mail
_EMAIL = regex.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def find_emails(text: str) -> list[Span]:
    """E-mail addresses (local@domain.tld)."""
    return [m.span() for m in _EMAIL.finditer(text)]


# --- payment cards
_CARD = regex.compile(r"(?<![\w.-])(?:[0-9][ -]?){12,18}[0-9](?![\w-]|\.[0-9])")
_CARD_PREFIXES: list[tuple[str, str, tuple[int, ...]]] = [  # (low, high) IIN range, allowed lengths
    ("4", "4", (13, 16, 19)),
    ("51", "55", (16,)),
    ("2221", "2720", (16,)),
    ("34", "34", (15,)),
    ("37", "37", (15,)),
    ("6011", "6011", (16, 17, 18, 19)),
    ("644", "649", (16, 19)),
    ("65", "65", (16, 19)),
    ("3528", "3589", (16, 17, 18, 19)),
    ("300", "305", (14, 16, 19)),
    ("36", "36", (14, 16, 19)),
    ("38", "39", (14, 16, 19)),
    ("62", "62", (16, 17, 18, 19)),
    ("2200", "2204", (16, 17, 18, 19)),
    ("50", "50", (12, 13, 14, 15, 16, 17, 18, 19)),
    ("56", "58", (12, 13, 14, 15, 16, 17, 18, 19)),
    ("63", "63", (12, 13, 14, 15, 16, 17, 18, 19)),
    ("67", "67", (12, 13, 14, 15, 16, 17, 18, 19)),
]


def card_number_valid(digits: str) -> bool:
    """True for a 12-19 digit string with a card network prefix, that network's length and a valid Luhn digit."""
    for low, high, lengths in _CARD_PREFIXES:
        head = digits[: len(low)]
        if low <= head <= high and len(digits) in lengths:
            return luhn.is_valid(digits)
    return False


def find_cards(text: str) -> list[Span]:
    """Payment card numbers, digit groups split by spaces or dashes (IIN + length + Luhn)."""
    spans = []
    for m in _CARD.finditer(text):
        candidate = m.group(0).rstrip(" -")
        if card_number_valid(regex.sub(r"[ -]", "", candidate)) and not _after_non_number_word(text, m.start()):
            spans.append((m.start(), m.start() + len(candidate)))
    return spans


# --- IBAN
_IBAN = regex.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")


def find_ibans(text: str) -> list[Span]:
    """IBANs, compact or in groups of four (country format, mod-97 and national checks by python-stdnum)."""
    spans = []
    for m in _IBAN.finditer(text):
        groups = list(regex.finditer(r"[A-Z0-9]+", m.group(0)))
        for last in range(len(groups), 0, -1):  # a trailing word may have been taken in: shrink until valid
            end = groups[last - 1].end()
            if std_iban.is_valid(m.group(0)[:end]):
                spans.append((m.start(), m.start() + end))
                break
    return spans


# --- US SSN
_SSN_DASHED = regex.compile(r"(?<![\w-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![\w-])")
_SSN_PLAIN = regex.compile(r"(?i)\b(?:ssn|ss#|social security(?: number| no\.?)?)[\s:#.]*([0-9]{3} ?[0-9]{2} ?[0-9]{4})\b")


def find_ssns(text: str) -> list[Span]:
    """US SSNs: `123-45-6789` anywhere; spaced or plain 9 digits only after `SSN`/`social security`."""
    spans = [m.span() for m in _SSN_DASHED.finditer(text) if std_ssn.is_valid(m.group(0))]
    spans += [m.span(1) for m in _SSN_PLAIN.finditer(text) if std_ssn.is_valid(m.group(1).replace(" ", ""))]
    return sorted(set(spans))


# --- IP addresses
_IPV4 = regex.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])")
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = regex.compile(rf"(?<![\w:])(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{1,7}}:(?:{_H}(?::{_H}){{0,6}})?|::(?:{_H}:){{0,6}}{_H})(?![\w:])")


def find_ips(text: str) -> list[Span]:
    """IPv4 (not after `version`, `release`, `section`, ... words) and IPv6 addresses, checked by `ipaddress`."""
    spans = []
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group(0))
        except ValueError:
            continue
        if not _after_non_number_word(text, m.start()):
            spans.append(m.span())
    for m in _IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(m.group(0))
        except ValueError:
            continue
        spans.append(m.span())
    return spans


# --- phones
_PHONE_WINDOW = regex.compile(r"[+(]*[0-9](?:[ ().+/-]{0,3}[0-9]){6,}\)?")
_PHONE_RUN = regex.compile(r"(?<![\w/.:-])\+?\(?[0-9][0-9 ().-]{5,}[0-9]")


def _valid_phone(candidate: str, regions: list[str]) -> bool:
    for region in regions:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _split_run(text: str, start: int, end: int, regions: list[str]) -> list[Span]:
    """Numbers written next to each other (`+1 415 555 2671 01 42 68 53 00`), which the matcher takes for one
    invalid number: the run's space-separated pieces cut into two or more valid numbers (longest first), or nothing."""
    pieces = [(start + m.start(), start + m.end()) for m in regex.finditer(r"\S+", text[start:end])]
    memo: dict[int, list[Span] | None] = {len(pieces): []}

    def cut(i: int) -> list[Span] | None:
        if i not in memo:
            memo[i] = None
            for j in range(len(pieces), i, -1):
                candidate = text[pieces[i][0] : pieces[j - 1][1]]
                if sum(c.isdigit() for c in candidate) > 17:  # longer than any phone number
                    continue
                rest = cut(j) if _valid_phone(candidate, regions) else None
                if rest is not None:
                    memo[i] = [(pieces[i][0], pieces[j - 1][1])] + rest
                    break
        return memo[i]

    spans = cut(0) if len(pieces) <= 64 else None
    return spans if spans is not None and len(spans) > 1 else []  # one number alone: the matcher has said no to it


def phone_finder(regions: list[str]) -> Callable[[str], list[Span]]:
    """Phone numbers valid for their country by libphonenumber: `+<country>` numbers anywhere, national
    formats of each of `regions` (ISO codes, e.g. US, GB, DE, FR, IN, CN), not after order/ISBN/... words
    and not dates or decimals. Runs of digits the matcher leaves whole are split into valid numbers."""

    def keep(text: str, start: int, end: int) -> bool:
        return not _after_non_number_word(text, start) and not _DATE_OR_DECIMAL.fullmatch(text[start:end])

    def matches(text: str) -> set[Span]:
        return {(m.start, m.end) for region in regions for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)}

    def masked(text: str, spans: set[Span]) -> str:
        chars = list(text)
        for start, end in spans:
            chars[start:end] = MASK * (end - start)
        return "".join(chars)

    def find_in(window: str) -> set[Span]:
        spans = matches(window)
        for _ in range(4):  # a number right next to a found one can hide in its run: look again with those masked
            more = {s for s in matches(masked(window, spans)) if not any(s[0] < e and b < s[1] for b, e in spans)} if spans else set()
            if not more:
                break
            spans |= more
        rest = masked(window, spans)
        for run in _PHONE_RUN.finditer(rest):
            spans.update(_split_run(rest, *run.span(), regions))
        return spans

    def find(text: str) -> list[Span]:
        spans: set[Span] = set()
        for window in _PHONE_WINDOW.finditer(text):  # the matcher runs on digit runs (and a character around), not the text
            start, end = max(0, window.start() - 1), min(len(text), window.end() + 1)
            spans |= {(start + s, start + e) for s, e in find_in(text[start:end]) if keep(text, start + s, start + e)}
        return sorted(spans)

    return find


DIGITS_PREFILTER = r"[0-9](?:[ ().+/-]{0,3}[0-9]){6,}"
NUMBER_DETECTORS: dict[str, Detector] = {
    "email": Detector(r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.", find_emails),
    "card": Detector(r"[0-9](?:[ -]?[0-9]){11,18}", find_cards),
    "iban": Detector(r"[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4}", find_ibans),
    "ssn": Detector(r"[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}", find_ssns),
    "ip": Detector(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:|::", find_ips),
}
