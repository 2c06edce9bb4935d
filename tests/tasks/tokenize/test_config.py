from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasks.tokenize.config import SplitConfig, TokenizeConfig


def test_defaults():
    cfg = TokenizeConfig()
    assert (cfg.kind, cfg.vocab_size, cfg.min_frequency, cfg.lowercase, cfg.max_length, cfg.cjk_split) == ("bpe", 8000, 2, True, 256, True)
    assert cfg.special_tokens == ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]"]
    split = SplitConfig()
    assert (split.validation, split.test, split.seed, split.stratify_column) == (0.1, 0.1, 13, "label")


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"kind": "sentencepiece"}, "kind"),
        ({"vocab_szie": 100}, "vocab_szie"),
        ({"special_tokens": ["[UNK]", "[PAD]"]}, "special_tokens"),
        ({"special_tokens": ["[PAD]", "[CLS]"]}, "special_tokens"),
        ({"max_length": 0}, "max_length"),
    ],
)
def test_tokenize_config_errors_name_the_key(bad, key):
    with pytest.raises(ValidationError) as info:
        TokenizeConfig(**bad)
    assert key in str(info.value)


def test_split_fractions_must_leave_train():
    with pytest.raises(ValidationError, match="train"):
        SplitConfig(validation=0.5, test=0.5)
    with pytest.raises(ValidationError, match="extra"):
        SplitConfig(stratify="label")
