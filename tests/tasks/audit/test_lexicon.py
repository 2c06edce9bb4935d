import pyarrow as pa

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import group_masks, load_lexicon, memberships, term_mask


def test_builtin_lexicon_has_all_axes_and_both_languages():
    lex = load_lexicon(AuditConfig())
    axes = {a for a, _ in lex.groups}
    assert axes == set(AuditConfig().axes)
    assert "她" in lex.groups[("gender", "female")] and "woman" in lex.groups[("gender", "female")]
    assert ("he", "she") in lex.pairs and ("他", "她") in lex.pairs


def test_word_boundary_case_insensitive_and_cjk_substring():
    table = pa.table({"id": ["a", "b", "c", "d"], "text": ["SHE left.", "the shepherd and the hemp", "我和她去了", None]})
    masks = group_masks(table, AuditConfig(axes=["gender"]))
    assert masks["gender/female"].tolist() == [True, False, True, False]
    assert masks["gender/male"].tolist() == [False, False, False, False]


def test_word_edges_are_unicode_aware():
    """RE2's ASCII `\\b` would match "muslim" inside "émuslim" and "muslimé"; the edges do not."""
    texts = pa.array(["a Muslim, here", "émuslim", "muslimé", "muslim_x", "他是Muslim。", "naïve muslim", "(muslim)", "muslim"])
    assert term_mask(texts, ["muslim"]).tolist() == [True, False, False, False, True, True, True, True]


def test_user_additions_replace_and_metadata_groups():
    cfg = AuditConfig(axes=["gender", "occupation"], lexicon={"occupation": {"nurse": ["nurse", "nurses"]}}, metadata_groups={"author_gender": "author_gender"})
    cfg.axes.append("author_gender")
    table = pa.table({"id": ["a", "b"], "text": ["The nurses (and a doctor)", "plain"], "author_gender": ["f", None]})
    masks = group_masks(table, cfg)
    assert masks["occupation/nurse"].tolist() == [True, False]
    assert masks["author_gender/f"].tolist() == [True, False]
    only = load_lexicon(AuditConfig(replace_lexicon=True, axes=["x"], lexicon={"x": {"y": ["Zed"]}}))
    assert only.groups == {("x", "y"): ["zed"]} and only.pairs == []
    long = memberships(table, cfg)
    assert set(map(tuple, long[["id", "axis", "group"]].to_numpy())) == {("a", "occupation", "nurse"), ("a", "author_gender", "f")}
