import pyarrow as pa
from hypothesis import given, settings, strategies as st

from tasks.clean.normalize import NormalizeParams
from tasks.clean.normalize import Normalize, normalize_text


def norm(*texts: str) -> list[str]:
    return normalize_text(pa.array(list(texts), pa.string()), NormalizeParams()).to_pylist()


def test_html_tags_and_entities_removed():
    assert norm("Great film.<br /><br />Loved it &amp; more") == ["Great film. Loved it & more"]
    assert norm("&lt;b&gt;bold&lt;/b&gt; text") == ["bold text"]


def test_mojibake_repaired():
    assert norm("cafÃ© â€œniceâ€\x9d") == ["café “nice”"]


def test_nfkc_control_chars_and_whitespace():
    assert norm(" ＡＢＣ\t\t x\x00\u200b\r\n\r\n\r\ny  ") == ["ABC x\n\ny"]


def test_plain_text_unchanged():
    assert norm("A plain sentence.", "房间很大，不错") == ["A plain sentence.", "房间很大,不错"]


def test_blank_after_normalize_is_empty():
    out = Normalize(NormalizeParams()).process(pa.chunked_array([pa.array(["<br />", "fine text"])]))
    assert out.reasons.to_pylist() == ["empty", None]
    assert out.text.to_pylist() == ["", "fine text"]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("ab <>/&;#x1lgt\t\n\r\u00a0\u00c3\u00a9\u00e2\u20ac\uff1c\uff1e\u200b\x00é中"))
            | st.characters(blacklist_categories=("Cs",)),
            max_size=40,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_normalize_is_idempotent(texts):
    once = normalize_text(pa.array(texts, pa.string()), NormalizeParams())
    twice = normalize_text(once, NormalizeParams())
    assert once.to_pylist() == twice.to_pylist()
