from __future__ import annotations

import pyarrow as pa
import pytest

from tasks.tokenize.config import TokenizeConfig
from tasks.tokenize.encode import encode_table
from tasks.tokenize.trainer import train_tokenizer

KINDS = ["bpe", "wordpiece", "unigram", "char", "byte_bpe"]


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    return pa.table(
        {
            "id": ["a", "b", "c", "d", "e"],
            "text": ["The movie was great.", "这家酒店的服务很好。", "", None, "Mixed 中文 and English"],
            "label": ["pos", "pos", None, "neg", "neg"],
        }
    )


@pytest.mark.parametrize("kind", KINDS)
def test_types_and_equality_with_per_row_encode(kind, batches, rows):
    cfg = TokenizeConfig(kind=kind, vocab_size=300)
    tok = train_tokenizer(batches, cfg)
    out = encode_table(rows, tok, cfg)
    assert out.column_names == ["id", "text", "label", "input_ids", "length"]
    assert out.schema.field("input_ids").type == pa.list_(pa.int32())
    assert out.schema.field("length").type == pa.int32()
    assert out.select(["id", "text", "label"]).equals(rows)
    expected = [tok.encode(t or "").ids for t in rows["text"].to_pylist()]
    assert out["input_ids"].to_pylist() == expected
    assert out["length"].to_pylist() == [len(ids) for ids in expected]
    assert expected[2] == [] and expected[3] == []


def test_max_length_truncates_ids_and_lengths(batches):
    cfg = TokenizeConfig(kind="char", vocab_size=300, max_length=4)
    tok = train_tokenizer(batches, cfg)
    table = pa.table({"text": ["今天天气很好", "ab", "the movie"]})
    out = encode_table(table, tok, cfg)
    assert out["length"].to_pylist() == [4, 2, 4]
    assert tok.decode(out["input_ids"][0].as_py()) == "今天天气"
    assert out["input_ids"][2].as_py() == tok.encode("the movie").ids[:4]


def test_small_batches_give_the_same_column_and_no_special_tokens(batches, corpus):
    cfg = TokenizeConfig(kind="bpe", vocab_size=300)
    tok = train_tokenizer(batches, cfg)
    table = pa.table({"body": corpus})
    whole = encode_table(table, tok, cfg, text_column="body")
    pieces = encode_table(table, tok, cfg, text_column="body", batch_rows=7)
    assert pieces["input_ids"].to_pylist() == whole["input_ids"].to_pylist()
    flat = {i for ids in whole["input_ids"].to_pylist() for i in ids}
    assert not flat & {0, 2, 3, 4}  # no [PAD]/[BOS]/[EOS]/[SEP] inserted


def test_empty_table_and_errors(batches):
    cfg = TokenizeConfig(kind="bpe", vocab_size=300)
    tok = train_tokenizer(batches, cfg)
    empty = encode_table(pa.table({"text": pa.array([], pa.string())}), tok, cfg)
    assert empty.num_rows == 0 and empty.schema.field("input_ids").type == pa.list_(pa.int32())
    with pytest.raises(KeyError, match="review"):
        encode_table(pa.table({"text": ["x"]}), tok, cfg, text_column="review")
    tok.enable_padding()
    with pytest.raises(ValueError, match="padding"):
        encode_table(pa.table({"text": ["x"]}), tok, cfg)


MIXED = [
    "The movie was great.",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ and ㊀ circled",
    "naïve café",
    "这家酒店的服务很好。",
    "Mixed 中文 and English",
    "tabs\tand  spaces",
    "",
    "ascii, only; punctuation!? (yes)",
    "ﬁ ligature",
    "日本語のテキスト",
]


@pytest.mark.parametrize("kind", KINDS)
def test_the_ascii_fast_path_gives_the_same_ids(kind, batches):
    """Pure-ASCII rows go through a copy without NFKC and the CJK split; ids must not change,
    whatever mix of ASCII and non-ASCII rows (full-width letters, ligatures, CJK) a batch holds."""
    from tasks.tokenize.encode import ascii_variant

    cfg = TokenizeConfig(kind=kind, vocab_size=300)
    tok = train_tokenizer(batches, cfg)
    texts = MIXED * 3
    expected = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert encode_table(pa.table({"text": texts}), tok, cfg, batch_rows=7)["input_ids"].to_pylist() == expected
    fast = ascii_variant(tok)
    if kind in ("bpe", "wordpiece", "unigram"):  # NFKC and the CJK split are dropped
        spec = fast.to_str()
        assert "NFKC" not in spec and "Han" not in spec
        ascii_rows = [t for t in texts if t.isascii()]
        assert [e.ids for e in fast.encode_batch(ascii_rows)] == [e.ids for e in tok.encode_batch(ascii_rows)]
