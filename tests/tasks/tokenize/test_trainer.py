from __future__ import annotations

import pytest

from tasks.tokenize.config import TokenizeConfig
from tasks.tokenize.trainer import tokenizer_hash, train_tokenizer

KINDS = ["bpe", "wordpiece", "unigram", "char", "byte_bpe"]
SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]"]


def _cfg(kind: str, **kw) -> TokenizeConfig:
    return TokenizeConfig(kind=kind, vocab_size=kw.pop("vocab_size", 300), **kw)


@pytest.mark.parametrize("kind", KINDS)
def test_special_tokens_first_and_pad_is_zero(kind, batches):
    tok = train_tokenizer(batches, _cfg(kind))
    assert [tok.token_to_id(t) for t in SPECIALS] == [0, 1, 2, 3, 4]
    assert tok.id_to_token(0) == "[PAD]"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text", ["the movie was great, and the music was funny.", "这家酒店的服务很好，房间也很干净。", "mixed 中文 and english 文本."])
def test_round_trip_english_and_chinese(kind, text, batches):
    tok = train_tokenizer(batches, _cfg(kind))
    ids = tok.encode(text).ids
    assert tok.token_to_id("[UNK]") not in ids
    # NFKC turns the full-width comma into ","; otherwise the text comes back exactly.
    assert tok.decode(ids) == text.replace("，", ",")


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram"])
def test_cjk_split_isolates_han_characters(kind, batches):
    tok = train_tokenizer(batches, _cfg(kind))
    tokens = tok.encode("今天天气很好").tokens
    pieces = [t.lstrip("▁") for t in tokens]
    assert [p for p in pieces if p] == list("今天天气很好")  # unigram may keep "▁" as its own piece
    no_split = train_tokenizer(batches, _cfg(kind, cjk_split=False, vocab_size=400))
    assert len(no_split.encode("今天天气很好").tokens) < len(tokens)


@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_lowercase_on_and_off(kind, batches):
    lower = train_tokenizer(batches, _cfg(kind))
    assert lower.encode("The Movie").ids == lower.encode("the movie").ids
    assert lower.decode(lower.encode("The Movie").ids) == "the movie"
    cased = train_tokenizer(batches, _cfg(kind, lowercase=False))
    assert cased.encode("The movie").ids != cased.encode("the movie").ids
    assert cased.decode(cased.encode("The movie").ids) == "The movie"


def test_unknown_character_becomes_unk_except_for_byte_bpe(batches):
    bpe = train_tokenizer(batches, _cfg("bpe"))
    assert bpe.encode("😀").tokens[-1] == "[UNK]"
    byte = train_tokenizer(batches, _cfg("byte_bpe"))
    assert byte.token_to_id("[UNK]") not in byte.encode("😀").ids
    assert byte.decode(byte.encode("😀").ids) == "😀"


def test_min_frequency_keeps_rare_words_out(batches):
    rare = "zyzzyva " * 1
    tok = train_tokenizer([*batches, [rare]], _cfg("bpe", vocab_size=2000, min_frequency=2))
    assert "▁zyzzyva" not in tok.get_vocab()
    tok1 = train_tokenizer([*batches, [rare]], _cfg("bpe", vocab_size=2000, min_frequency=1))
    assert "▁zyzzyva" in tok1.get_vocab()


@pytest.mark.parametrize("kind", KINDS)
def test_training_is_deterministic(kind, batches, corpus):
    a = train_tokenizer(batches, _cfg(kind))
    b = train_tokenizer(iter(batches), _cfg(kind))
    assert tokenizer_hash(a) == tokenizer_hash(b)
    assert [e.ids for e in a.encode_batch(corpus)] == [e.ids for e in b.encode_batch(corpus)]


def test_hash_is_sha256_of_json_and_tracks_config(batches):
    import hashlib

    tok = train_tokenizer(batches, _cfg("bpe"))
    assert tokenizer_hash(tok) == hashlib.sha256(tok.to_str().encode()).hexdigest()
    assert len(tokenizer_hash(tok)) == 64
    assert tokenizer_hash(tok) != tokenizer_hash(train_tokenizer(batches, _cfg("bpe", vocab_size=200)))


def test_vocab_size_is_respected_and_empty_rows_ignored(batches):
    tok = train_tokenizer([[None, ""], *batches], _cfg("bpe", vocab_size=120))  # type: ignore[list-item]
    assert tok.get_vocab_size() <= 120


def test_saved_tokenizer_reloads_identically(tmp_path, batches):
    from tokenizers import Tokenizer

    tok = train_tokenizer(batches, _cfg("wordpiece"))
    tok.save(str(tmp_path / "tokenizer.json"))
    loaded = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    text = "the music was great. 今天很好"
    assert loaded.encode(text).ids == tok.encode(text).ids
    assert loaded.decode(loaded.encode(text).ids) == text


def test_no_text_is_an_error():
    with pytest.raises(ValueError, match="no non-empty text"):
        train_tokenizer([[], ["", None]], _cfg("bpe"))  # type: ignore[list-item]
