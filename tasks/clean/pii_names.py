"""Detectors of person names and street addresses, by rules (no model download).

Names: a title (`Mr.`, `Dr.`, `Frau`, ...) before one to three capitalised words; a cue (`my name
is`, `Dear`, `Regards,`, `Contact:`, `cc:`, ...) before two or three; or a common first name
(FIRST_NAMES: about 300 names of many origins) before one or two capitalised words. Words like
`Street`, `Inc`, `Hotel` end a name. Addresses: US/UK street lines (house number, words, street
suffix, then optionally unit, city, state + ZIP or UK postcode), PO boxes, French `12 rue ...`
and German `...straße 5` lines with their postcode and city. Each has an RE2 `prefilter`.
See docs/pii.md for what was measured against a small NER (spaCy) and why these rules stay.
"""

from __future__ import annotations

import regex

from tasks.clean.pii_numbers import Detector, Span

FIRST_NAMES = """
aaron abdul adam adrian ahmed aisha alan alberto alejandro alex alexander alexandra ali alice alicia amanda amir amit
amy ana andrea andreas andrew angela anil anita anna anne anthony antonio arjun arun ashley bao barbara ben benjamin
bernard betty brian bruno camille carla carlos carmen carol caroline catherine charles chen chloe chris christian
christina christine christopher claire claudia daniel daniela david deborah deepak diana diego dmitri dominique donald
dorothy eduardo elena elizabeth emily emma emmanuel eric erik ethan eva fatima felix fernando francesca francesco
francisco frank franz fran\u00e7ois fr\u00e9d\u00e9ric gabriel gabriela george gerhard giorgio giovanni giulia grace
gregory guillaume gustavo hannah hans harold heather helen helena henry hiroshi hugo ian igor ingrid isabel isabella
ivan jacob james jan jane janet jason javier jean jeffrey jennifer jens jessica ji jin joan joao jochen johann johannes
john jonathan jorge jose joseph joshua juan judith julia julian julie jun jurgen karen karin karl katarzyna kate
katherine kathleen kenji kevin kim klaus krishna kumar larry laura laurent lea lena leon li lin linda lisa liu lorenzo
louis lucas lucia luis luisa lukas magdalena manuel marc marco margaret maria marie marina mario martin mary matteo
matthew matthias maximilian mehmet melissa mei michael michel michelle miguel mikhail ming mohamed mohammed muhammad
nadia nancy natalia natasha nathan nicholas nicolas nicole nikolai nina noah noor olga oliver olivia omar pablo pamela
patricia patrick paul paula pedro peter petra philippe pierre pietro piotr pooja priya rafael rahul raj rajesh ramon
raquel ravi rebecca richard ricardo robert roberto rohan ronald rosa ruth ryan sakura samuel sandra sanjay sara sarah
satoshi scott sebastian sergei sergio shirley simon sofia sophia sophie stefan stefano stephanie stephen steven sunil
susan takashi tanaka tatiana teresa thomas tiffany timothy tom tomasz valentina vanessa vera victor vikram vincent
virginie wang walter wei william wolfgang xavier xin yan yang yuki yusuf yuri zhang zhao zoe anja beatriz
hassan hamid jamal kwame chinedu ngozi oluwaseun amara tariq yasmin leila reza arash mina hyun seo minji jiho thi
minh anh duc huong kofi abebe thabo sipho
"""
_FIRST = sorted({n.strip() for n in FIRST_NAMES.split()})
_STOP = (
    "The|A|An|And|Or|Of|In|On|At|To|For|Street|St|Avenue|Ave|Road|Rd|Lane|Drive|Boulevard|Inc|Ltd|LLC|GmbH|Co|Corp|"
    "Company|Group|Hotel|Center|Centre|Park|University|College|School|Bank|Airport|Station|Square|Hall|Church|River|"
    "Day|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July|August|"
    "September|October|November|December|City|County|State|North|South|East|West|New|Times|Teams|Meet|Band|Blues"
)
_WORD = r"\p{Lu}[\p{Ll}\p{Lu}'’-]*\p{Ll}"
_NAME_WORD = rf"(?!(?:{_STOP})\b){_WORD}"
_TITLE = r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Madam|Mme|Mlle|Herr|Frau|Sr|Sra)\b\.?"
_CUE = (
    r"(?i:\bmy name is|\bi'm|\bi am|\bname:|\bcontact:|\battn:?|\bdear|\bregards,|\bsincerely,|\bthanks,|\bsigned by|"
    r"\bwritten by|\byours truly,|\bcc:|\bask for|\bcustomer|\bpatient:?|\bdriver,|\bcolleague|\bhusband|\bwife|"
    r"\bfriend|\bmanager|\bnurse|\bbooked by|\bguest|\bhost:|\bfrom:)"
)
_FIRST_SET = frozenset(_FIRST)
_FIRST_ALT = "|".join(n.capitalize() for n in _FIRST)
_CUED = regex.compile(
    rf"{_TITLE}\s+(?P<a>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
    rf"|{_CUE}\s+(?P<b>{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,2}})"
)
_CAPITALISED_PAIR = regex.compile(r"\b\p{Lu}\p{Ll}+(?=\s+\p{Lu})")
_SURNAMES = regex.compile(rf"\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?(?!\p{{L}})")
_TITLE_RE2 = r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Madam|Mme|Mlle|Herr|Frau|Sr|Sra)\b\.?"
_CUE_RE2 = (
    r"(?i:my name is|i'm|i am|name:|contact:|attn:?|dear|regards,|sincerely,|thanks,|signed by|written by|"
    r"yours truly,|cc:|ask for|customer|patient:?|driver,|colleague|husband|wife|friend|manager|nurse|booked by|"
    r"guest|host:|from:)"
)
CUED_PREFILTER = rf"{_TITLE_RE2}\s+\p{{Lu}}|{_CUE_RE2}\s+\p{{Lu}}\p{{Ll}}"
FIRST_NAME_PREFILTER = rf"\b(?:{_FIRST_ALT})\s+\p{{Lu}}"


def find_cued_names(text: str) -> list[Span]:
    """Person names after a title (`Mr.`, `Dr.`, ...) or a cue (`my name is`, `Dear`, `Regards,`, ...)."""
    return [m.span("a" if m.group("a") is not None else "b") for m in _CUED.finditer(text)]


def find_first_names(text: str) -> list[Span]:
    """Person names starting with a common first name (a set look-up) followed by one or two capitalised words."""
    spans = []
    for m in _CAPITALISED_PAIR.finditer(text):
        if m.group(0).lower() in _FIRST_SET and not (spans and m.start() < spans[-1][1]):
            rest = _SURNAMES.match(text, m.end())
            if rest is not None:
                spans.append((m.start(), rest.end()))
    return spans


_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Parkway|Pkwy|Place|Pl|"
    r"Terrace|Ter|Square|Sq|Highway|Hwy|Loop|Circle|Cir|Trail|Row|Crescent|Close|Gardens|Mews)\b\.?"
)
_CITY = r"\p{Lu}\p{Ll}[\p{L}'.-]*(?:\s\p{Lu}\p{Ll}[\p{L}'.-]*){0,2}"
_US_TAIL = (
    rf"(?:,\s*(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|#)\.?\s*[\w-]+)?"
    rf"(?:,\s*{_CITY}(?:,?\s+[A-Z]{{2}}\s+[0-9]{{5}}(?:-[0-9]{{4}})?|\s+[A-Z]{{1,2}}[0-9][A-Z0-9]?\s?[0-9][A-Z]{{2}}\b)?)?"
)
_ADDRESS = regex.compile(
    rf"\b[0-9]{{1,6}}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?:{_WORD}\s+|[0-9]+(?:st|nd|rd|th)\s+){{1,4}}{_SUFFIX}{_US_TAIL}"
    rf"|\bP\.?\s?O\.?\s+Box\s+[0-9]+{_US_TAIL}"
    rf"|\b[0-9]{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|boulevard|bd|place|chemin|all\u00e9e|impasse|quai|route)\s+"
    rf"(?:(?:de|du|des|la|le|l'|d')\s+)*\p{{Lu}}[\p{{L}}'-]*(?:\s+\p{{Lu}}[\p{{L}}'-]*)*(?:,\s*[0-9]{{5}}\s+{_CITY})?"
    rf"|\b\p{{Lu}}[\p{{L}}-]*(?:stra\u00dfe|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+[0-9]{{1,4}}[a-z]?\b"
    rf"(?:,\s*[0-9]{{5}}\s+{_CITY})?"
)
ADDRESS_PREFILTER = (
    r"\b(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|"
    r"Parkway|Pkwy|Place|Pl|Terrace|Ter|Square|Sq|Highway|Hwy|Loop|Circle|Cir|Trail|Row|Crescent|Close|"
    r"Gardens|Mews)\b|P\.?\s?O\.?\s+Box|[0-9]\s+(?i:rue|avenue|boulevard|bd|place|chemin|allée|impasse|"
    r"quai|route)\s|(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+[0-9]"
)


def find_addresses(text: str) -> list[Span]:
    """Street addresses (US/UK, PO boxes, French and German forms) with their city and postcode when given."""
    return [m.span() for m in _ADDRESS.finditer(text)]


NAME_DETECTORS: list[tuple[str, Detector]] = [
    ("person", Detector(CUED_PREFILTER, find_cued_names)),
    ("person", Detector(FIRST_NAME_PREFILTER, find_first_names)),
    ("address", Detector(ADDRESS_PREFILTER, find_addresses)),
]
