"""HolisticBias-style descriptors in the English lexicon: ambiguous ones only in identity contexts; coverage."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tasks.audit.config import AuditConfig
from tasks.audit.coverage import lexicon_coverage
from tasks.audit.lexicon import contextual_terms, group_masks

IDENTITY = {
    "A black woman spoke first.": "race_ethnicity/black",
    "White people were the majority.": "race_ethnicity/white",
    "An old man sat down.": "age/old",
    "The older women laughed.": "age/old",
    "Trans people deserve respect.": "gender/transgender",
    "LGBTQ+ viewers will love it.": "sexual_orientation/lgbtq",
    "A Sikh family runs the shop.": "religion/sikh",
    "a straight couple": "sexual_orientation/straight",
    "The blind man crossed.": "disability/disabled",
}
NOT_IDENTITY = [
    "Black coffee, no sugar.",
    "A white wine and a black cat.",
    "An old movie in an old house.",
    "It went straight to video.",
    "A trans-atlantic flight.",
    "The blind spot of the plot.",
    "A black-and-white film.",
]


def _groups(texts: list[str]) -> list[set[str]]:
    masks = group_masks(pa.table({"id": list(range(len(texts))), "text": texts}), AuditConfig(languages=["en"]))
    return [{key for key, mask in masks.items() if mask[i]} for i in range(len(texts))]


def test_ambiguous_descriptors_match_in_identity_contexts():
    for text, found in zip(IDENTITY, _groups(list(IDENTITY))):
        assert IDENTITY[text] in found, text


@pytest.mark.parametrize("text", NOT_IDENTITY)
def test_ambiguous_descriptors_do_not_match_alone(text):
    [found] = _groups([text])
    ambiguous_axes = {"race_ethnicity", "age", "gender", "sexual_orientation", "disability"}
    assert not {g for g in found if g.split("/")[0] in ambiguous_axes}, (text, found)


def test_contextual_section_expands_to_descriptor_plus_person_noun():
    terms = contextual_terms({"person_nouns": ["man", "people"], "axes": {"age": {"old": ["old"]}}})
    assert terms == {("age", "old"): ["old man", "old people"]}


def test_holisticbias_coverage_is_reported_and_high():
    coverage = lexicon_coverage()
    assert coverage.total == 287 and coverage.share >= 0.9
    assert coverage.per_axis["religion"] == (49, 49)
    assert "Sikh" not in coverage.missed["religion"] and "old" not in coverage.missed["age"]
