import pyarrow as pa
import pytest

from tasks.clean.filters import LanguageParams, LengthParams, QualityParams, RepetitionParams
from tasks.clean.filters import EmptyFilter, LanguageFilter, LengthFilter, QualityFilter, RepetitionFilter


def reasons(step, *texts):
    return step.reasons(pa.chunked_array([pa.array(list(texts), pa.string())])).to_pylist()


def test_empty():
    assert reasons(EmptyFilter(), "", "  \n\t", "x") == ["empty", "empty", None]


def test_length_words_and_cjk_characters():
    step = LengthFilter(LengthParams(min_words=3, max_words=6))
    assert reasons(step, "too short", "three words here", "one two three four five six seven") == ["too_short", None, "too_long"]
    assert reasons(step, "很好", "房间很大") == ["too_short", None]  # 2 and 4 CJK characters
    assert reasons(step, "ok !! ?? ..") == ["too_short"]  # punctuation tokens are not words


@pytest.fixture(scope="module")
def language():
    return LanguageFilter(LanguageParams(keep=["en", "zh"], min_confidence=0.5))


def test_language_keeps_short_english_and_chinese(language):
    assert reasons(language, "Great movie!", "Terrible, boring film.", "房间很大，不错", "早餐太差") == [None] * 4


def test_language_drops_other_languages(language):
    assert reasons(language, "Le film était vraiment nul et beaucoup trop long.", "Das Hotel war sauber und das Personal sehr freundlich.") == [
        "language:fr",
        "language:de",
    ]


def test_language_drops_japanese_even_with_kanji(language):
    assert reasons(language, "このホテルはとても良かったです。部屋も広い。") == ["language:ja"]


QUALITY = QualityParams(min_words=5)
GOOD = "The film was a delight to watch and the cast did a fine job with the story."


@pytest.mark.parametrize(
    "text, reason",
    [
        (GOOD, None),
        ("这家酒店的房间很大，服务也很好，我们都很满意。", None),
        ("the and of", "quality:word_count"),
        ("the and of to with a b c d e f g h", "quality:mean_word_length"),
        ("the film #great #fun #wow #cool with the cast", "quality:symbol_ratio"),
        ("the film was good and long...\nthe cast was fine with me...\nto the end of the long story\nok fine so good for all", "quality:ellipsis_lines"),
        ("the 12 34 56 78 90 11 with 22 33 44", "quality:alpha_ratio"),
        ("Lorem ipsum dolor sit amet consectetur adipiscing elit", "quality:stop_words"),
    ],
)
def test_quality(text, reason):
    assert reasons(QualityFilter(QUALITY), text) == [reason]


@pytest.mark.parametrize(
    "text, reason",
    [
        (GOOD, None),
        ("buy now\nbuy now\nbuy now\nreal line", "repetition:dup_lines"),
        ("para one here\n\nsame para\n\nsame para\n\nsame para", "repetition:dup_lines"),
        ("click here click here click here click here to win", "repetition:top_2gram"),
        ("好的好的好的好的好的好的", "repetition:top_2gram"),
    ],
)
def test_repetition(text, reason):
    assert reasons(RepetitionFilter(RepetitionParams()), text) == [reason]


def test_repetition_paragraphs_only():
    params = RepetitionParams(max_dup_line_fraction=1.0)
    text = "first paragraph\nline two\n\nfirst paragraph\nline two\n\nother words entirely different"
    assert reasons(RepetitionFilter(params), text) == ["repetition:dup_paragraphs"]
