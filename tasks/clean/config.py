"""Typed config of the clean stage: `clean:` is an ordered list of steps, each a name or `{name: {params}}`."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NormalizeParams(_Params):
    """Unicode NFKC, ftfy mojibake repair, HTML tags/entities, control characters, whitespace."""

    nfkc: bool = True
    fix_mojibake: bool = True
    strip_html: bool = True
    lowercase: bool = False


class LengthParams(_Params):
    """Keep documents with min_words <= words <= max_words (each CJK character counts as a word)."""

    min_words: int = Field(default=3, ge=0)
    max_words: int | None = Field(default=None, ge=1)


class LanguageParams(_Params):
    """Keep documents whose language (py3langid, plus a Han-script rule) is in `keep`."""

    keep: list[str] = Field(default_factory=lambda: ["en", "zh"], min_length=1)
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    short_text_chars: int = Field(default=60, ge=0, description="below this many characters only the top language must be kept (no confidence test): langid is unsure on one-liners")


class QualityParams(_Params):
    """Gopher-style heuristics (Rae et al. 2021), CJK-aware (a CJK character counts as one word)."""

    min_words: int = Field(default=5, ge=0)
    max_words: int = Field(default=100_000, ge=1)
    min_mean_word_length: float = 2.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_ellipsis_line_ratio: float = 0.3
    min_alpha_word_ratio: float = 0.8
    min_stop_words: int = Field(default=2, ge=0)


class RepetitionParams(_Params):
    """Gopher repetition: duplicate line/paragraph fractions and top n-gram character shares."""

    max_dup_line_fraction: float = 0.3
    max_dup_paragraph_fraction: float = 0.3
    top_ngram_max_share: dict[int, float] = Field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})


class ExactDedupParams(_Params):
    """Drop documents whose normalised text (case-folded, whitespace-collapsed) equals another's; keep the smallest id."""

    casefold: bool = True


class NearDedupParams(_Params):
    """MinHash LSH (datasketch permutations): documents sharing a band bucket are clustered; the smallest id stays."""

    num_perm: int = Field(default=128, ge=8)
    bands: int = Field(default=16, ge=1)
    shingle_size: int = Field(default=5, ge=1, description="word n-grams; character n-grams for CJK text")
    threshold: float | None = Field(default=None, ge=0.0, le=1.0, description="if set, a candidate pair also needs this estimated Jaccard (band agreement share)")
    seed: int = 1

    @model_validator(mode="after")
    def _bands_divide(self) -> NearDedupParams:
        if self.num_perm % self.bands:
            raise ValueError(f"bands ({self.bands}) must divide num_perm ({self.num_perm})")
        return self


PII_TYPES = ("email", "iban", "card", "ssn", "ip", "phone", "address", "person")  # IBAN before card: its digits can pass Luhn


class PiiParams(_Params):
    """Replace personal data by typed placeholders (`<EMAIL>`, `<PHONE>`, ...), in the text and carried string
    columns; quarantined rows are stored redacted, hashed or kept as they are (`quarantine`)."""

    types: list[Literal["email", "iban", "card", "ssn", "ip", "phone", "address", "person"]] = Field(
        default_factory=lambda: list(PII_TYPES), description="types to redact, in this order (a span taken by an earlier type is not looked at again)")
    phone_regions: list[str] = Field(default_factory=lambda: ["US", "GB", "DE", "FR", "IN", "CN"], min_length=1,
                                     description="ISO regions whose national phone formats are recognised (+<country> numbers always are)")
    columns: Literal["all"] | list[str] = Field(default="all", description="carried string columns also redacted: `all` or a list of names ([] for none)")
    quarantine: Literal["redact", "hash", "keep"] = Field(default="redact", description="quarantined rows: text and those columns redacted, replaced by sha256:<hex>, or kept")

    @model_validator(mode="after")
    def _known_regions(self) -> PiiParams:
        import phonenumbers

        unknown = [r for r in self.phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"phone_regions: unknown region code(s) {unknown}; use ISO 3166 codes such as US, GB, DE")
        return self


PARAMS: dict[str, type[_Params]] = {
    "normalize": NormalizeParams,
    "length": LengthParams,
    "language": LanguageParams,
    "quality": QualityParams,
    "repetition": RepetitionParams,
    "exact_dedup": ExactDedupParams,
    "near_dedup": NearDedupParams,
    "pii": PiiParams,
}


class CleanConfig(RootModel[list[dict[str, Any]]]):
    """The ordered step list. Items: `name` or `{name: {params}}`; errors name `<index>.<name>.<param>`."""

    root: list[dict[str, Any]]

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("clean: expected a list of steps")
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                item = {item: {}}
            elif isinstance(item, BaseModel):
                item = {item.__class__.__name__: item}
            out.append(item)
        return out

    @model_validator(mode="after")
    def _validate_steps(self) -> CleanConfig:
        from pydantic import ValidationError
        from pydantic_core import InitErrorDetails, PydanticCustomError

        errors: list[InitErrorDetails] = []
        parsed: list[dict[str, Any]] = []
        for index, item in enumerate(self.root):
            if not isinstance(item, dict) or len(item) != 1:
                errors.append(InitErrorDetails(type=PydanticCustomError("clean_step", "a step is a name or a one-key mapping {name: {params}}"), loc=(index,), input=item))
                continue
            (name, params), = item.items()
            if name not in PARAMS:
                errors.append(InitErrorDetails(type=PydanticCustomError("clean_step", f"unknown step {name!r}; expected one of {', '.join(PARAMS)}"), loc=(index, name), input=item))
                continue
            if isinstance(params, _Params):
                parsed.append({name: params})
                continue
            try:
                parsed.append({name: PARAMS[name].model_validate(params or {})})
            except ValidationError as exc:
                for err in exc.errors():
                    errors.append(InitErrorDetails(type=PydanticCustomError(err["type"], err["msg"]), loc=(index, name, *err["loc"]), input=err["input"]))
        if errors:
            raise ValidationError.from_exception_data(self.__class__.__name__, errors)
        self.root = parsed
        return self

    @classmethod
    def default(cls) -> CleanConfig:
        """normalize, length(min_words=3), exact_dedup, near_dedup, pii; language/quality/repetition are opt-in."""
        return cls.model_validate(["normalize", {"length": {"min_words": 3}}, "exact_dedup", "near_dedup", "pii"])

    def steps(self) -> list[tuple[str, _Params]]:
        """The validated steps as (name, params) pairs, in configured order."""
        return [next(iter(item.items())) for item in self.root]
