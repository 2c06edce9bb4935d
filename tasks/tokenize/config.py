"""Typed configuration of the tokenize stage (YAML sections `tokenize:` and `split:`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TokenizerKind = Literal["bpe", "wordpiece", "unigram", "char", "byte_bpe", "pretrained"]
DEFAULT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]"]


class TokenizeConfig(BaseModel):
    """How the tokenizer is trained and how texts become ids.

    `kind`: `bpe`, `wordpiece`, `unigram` (subword models over SentencePiece-style `▁` words),
    `char` (one token per character, good for Chinese) or `byte_bpe` (byte-level BPE, never
    unknown, handles CJK). `special_tokens` get the first ids in their order: `[PAD]` must come
    first (id 0) and `[UNK]` must be present. `max_length` truncates each row's ids.
    `cjk_split` isolates each CJK character before the subword model sees it (bpe, wordpiece,
    unigram), so mixed English/Chinese corpora get sensible pieces. `pretrained` loads the tokenizer
    `name` shipped in a package (`tasks/common/pretrained.py`) instead of training one; the other
    fields but `max_length` are then unused.
    """

    model_config = ConfigDict(extra="forbid")

    kind: TokenizerKind = "bpe"
    vocab_size: int = Field(default=8000, ge=16)
    min_frequency: int = Field(default=2, ge=1)
    lowercase: bool = True
    special_tokens: list[str] = Field(default_factory=lambda: list(DEFAULT_SPECIAL_TOKENS))
    max_length: int = Field(default=256, ge=1)
    cjk_split: bool = True
    name: str | None = Field(default=None, description="kind pretrained: the packaged tokenizer, e.g. all-minilm-l6-v2")

    @field_validator("special_tokens")
    @classmethod
    def _pad_first_unk_present(cls, tokens: list[str]) -> list[str]:
        if not tokens or tokens[0] != "[PAD]":
            raise ValueError("the first special token must be '[PAD]' (it gets id 0)")
        if "[UNK]" not in tokens:
            raise ValueError("'[UNK]' must be one of the special tokens")
        if len(set(tokens)) != len(tokens):
            raise ValueError("special tokens must be distinct")
        return tokens

    @model_validator(mode="after")
    def _pretrained_has_name(self) -> TokenizeConfig:
        if (self.kind == "pretrained") != (self.name is not None):
            raise ValueError("`name` is required with kind pretrained (e.g. all-minilm-l6-v2) and only then")
        return self

    @model_validator(mode="after")
    def _vocab_holds_specials(self) -> TokenizeConfig:
        if self.vocab_size <= len(self.special_tokens):
            raise ValueError(f"vocab_size ({self.vocab_size}) must exceed the number of special tokens")
        return self


class SplitConfig(BaseModel):
    """Fractions of each stratum sent to validation and test (the rest is train), the seed of the
    id hash that orders rows, and the column whose values are the strata (None: one stratum)."""

    model_config = ConfigDict(extra="forbid")

    validation: float = Field(default=0.1, ge=0.0, lt=1.0)
    test: float = Field(default=0.1, ge=0.0, lt=1.0)
    seed: int = 13
    stratify_column: str | None = "label"

    @model_validator(mode="after")
    def _leaves_train(self) -> SplitConfig:
        if self.validation + self.test >= 1.0:
            raise ValueError("validation + test must be below 1 so that train is not empty")
        return self
