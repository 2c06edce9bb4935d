"""Filters: each only decides keep-or-reason. `length`, `language`, `quality`, `repetition`, and the implicit `empty`."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from pydantic import Field

from tasks.clean.base import CJK_CHAR, Filter, StepParams, cjk_chars, first_reason, word_count

EN_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
ZH_STOP_WORDS = ("的", "了", "是", "在", "我", "有", "和", "就", "不", "也", "很", "都")


class LengthParams(StepParams):
    """Keep documents with min_words <= words <= max_words (each CJK character counts as a word)."""

    min_words: int = Field(default=3, ge=0)
    max_words: int | None = Field(default=None, ge=1)


class LanguageParams(StepParams):
    """Keep documents whose language (py3langid, plus a Han-script rule) is in `keep`."""

    keep: list[str] = Field(default_factory=lambda: ["en", "zh"], min_length=1)
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    short_text_chars: int = Field(
        default=60, ge=0, description="below this many characters only the top language must be kept (no confidence test): langid is unsure on one-liners"
    )


class QualityParams(StepParams):
    """Gopher-style heuristics (Rae et al. 2021), CJK-aware (a CJK character counts as one word)."""

    min_words: int = Field(default=5, ge=0)
    max_words: int = Field(default=100_000, ge=1)
    min_mean_word_length: float = 2.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_ellipsis_line_ratio: float = 0.3
    min_alpha_word_ratio: float = 0.8
    min_stop_words: int = Field(default=2, ge=0)


class RepetitionParams(StepParams):
    """Gopher repetition: duplicate line/paragraph fractions and top n-gram character shares."""

    max_dup_line_fraction: float = 0.3
    max_dup_paragraph_fraction: float = 0.3
    top_ngram_max_share: dict[int, float] = Field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})


class EmptyFilter(Filter):
    """Drop rows whose text is null, empty or whitespace only (reason `empty`)."""

    name = "input"

    def reasons(self, text: pa.ChunkedArray) -> pa.Array:
        blank = pc.or_kleene(pc.is_null(text), pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
        return first_reason([(blank, "empty")], len(text))


@lru_cache(maxsize=1)
def language_identifier() -> LanguageIdentifier:
    """py3langid's model with normalised probabilities, loaded once per process (it takes ~1 s)."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


class LengthFilter(Filter):
    """Keep min_words <= words <= max_words; reasons `too_short` / `too_long` (CJK: characters count as words)."""

    name = "length"
    params_class = LengthParams

    def __init__(self, params: LengthParams) -> None:
        self.params = params

    def reasons(self, text: pa.ChunkedArray) -> pa.Array:
        words = word_count(text)
        rules = [(pc.less(words, self.params.min_words), "too_short")]
        if self.params.max_words is not None:
            rules.append((pc.greater(words, self.params.max_words), "too_long"))
        return first_reason(rules, len(text))


class LanguageFilter(Filter):
    """Keep rows whose language is in `keep`; reason `language:<code>` (or `language:unsure` under min_confidence).

    Text that is at least 30 % Han characters with no kana or Hangul is Chinese by script (py3langid
    confuses short zh/ja); everything else goes to py3langid with normalised probabilities. Texts
    shorter than `short_text_chars` pass when their top language is kept, whatever its confidence.
    """

    name = "language"
    params_class = LanguageParams

    def __init__(self, params: LanguageParams) -> None:
        self.params = params
        self.identifier = language_identifier()

    def reasons(self, text: pa.ChunkedArray) -> pa.Array:
        keep = set(self.params.keep)
        lengths = pc.utf8_length(text).to_numpy(zero_copy_only=False)
        han = pc.count_substring_regex(text, r"\p{Han}").to_numpy(zero_copy_only=False)
        other_cjk = pc.count_substring_regex(text, r"[\p{Hiragana}\p{Katakana}\p{Hangul}]").to_numpy(zero_copy_only=False)
        out: list[str | None] = []
        for i, value in enumerate(text.to_pylist()):
            if lengths[i] and other_cjk[i] == 0 and han[i] >= 0.3 * lengths[i]:
                lang, confidence = "zh", 1.0
            else:
                lang, confidence = self.identifier.classify(value)
            if lang not in keep:
                out.append(f"language:{lang}")
            elif lengths[i] >= self.params.short_text_chars and confidence < self.params.min_confidence:
                out.append("language:unsure")
            else:
                out.append(None)
        return pa.array(out, pa.string())


class QualityFilter(Filter):
    """Gopher quality rules, vectorised; reasons `quality:<rule>`. CJK text counts characters as words
    and uses Chinese stop words; mean word length is not tested on CJK-dominant text."""

    name = "quality"
    params_class = QualityParams

    def __init__(self, params: QualityParams) -> None:
        self.params = params

    def reasons(self, text: pa.ChunkedArray) -> pa.Array:
        p = self.params
        words = word_count(text)
        safe_words = pc.max_element_wise(words, 1)
        cjk = cjk_chars(text)
        cjk_dominant = pc.greater_equal(pc.multiply(cjk, 2), words)
        latin = pc.replace_substring_regex(text, CJK_CHAR, " ")
        tokens = pc.max_element_wise(pc.count_substring_regex(latin, r"\S+"), 1)
        letters = pc.count_substring_regex(latin, r"[\p{L}\p{N}]")
        mean_len = pc.divide(pc.cast(letters, pa.float64()), pc.max_element_wise(pc.subtract(words, cjk), 1))
        symbols = pc.add(pc.count_substring(text, "#"), pc.add(pc.count_substring(text, "..."), pc.count_substring(text, "…")))
        lines = pc.add(pc.count_substring(text, "\n"), 1)
        ellipsis_lines = pc.count_substring_regex(text, r"(?m)(?:\.\.\.|…)$")
        alpha_tokens = pc.add(pc.count_substring_regex(latin, r"\S*\p{L}\S*"), cjk)
        lower = pc.utf8_lower(text)
        en_stop = pc.count_substring_regex(lower, r"\b(?:" + "|".join(EN_STOP_WORDS) + r")\b")
        zh_stop = pc.count_substring_regex(text, "|".join(ZH_STOP_WORDS))
        stop = pc.if_else(cjk_dominant, zh_stop, en_stop)
        not_cjk = pc.invert(cjk_dominant)
        rules = [
            (pc.or_(pc.less(words, p.min_words), pc.greater(words, p.max_words)), "quality:word_count"),
            (pc.and_(not_cjk, pc.or_(pc.less(mean_len, p.min_mean_word_length), pc.greater(mean_len, p.max_mean_word_length))), "quality:mean_word_length"),
            (pc.greater(pc.divide(pc.cast(symbols, pa.float64()), safe_words), p.max_symbol_word_ratio), "quality:symbol_ratio"),
            (pc.greater(pc.divide(pc.cast(ellipsis_lines, pa.float64()), lines), p.max_ellipsis_line_ratio), "quality:ellipsis_lines"),
            (pc.less(pc.divide(pc.cast(alpha_tokens, pa.float64()), pc.add(tokens, cjk)), p.min_alpha_word_ratio), "quality:alpha_ratio"),
            (pc.less(stop, p.min_stop_words), "quality:stop_words"),
        ]
        return first_reason(rules, len(text))


def _units(text: str) -> list[str]:
    """Words, or characters for CJK-dominant text."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff" or "\uac00" <= ch <= "\ud7af")
    words = text.split()
    return [ch for ch in text if not ch.isspace()] if cjk * 2 >= max(len(words), 1) else words


def repetition_reason(text: str, params: RepetitionParams) -> str | None:
    """Gopher repetition rules on one text: the first rule it breaks, or None."""
    for sep, limit, reason in (
        ("\n", params.max_dup_line_fraction, "repetition:dup_lines"),
        ("\n\n", params.max_dup_paragraph_fraction, "repetition:dup_paragraphs"),
    ):
        parts = [part.strip() for part in text.split(sep) if part.strip()]
        if len(parts) > 1:
            counts = Counter(parts)
            duplicated = sum(count - 1 for count in counts.values())
            if duplicated / len(parts) > limit:
                return reason
    units = _units(text)
    total = sum(len(u) for u in units)
    for n, limit in sorted(params.top_ngram_max_share.items()):
        if len(units) < n + 1:
            continue
        grams = Counter(tuple(units[i : i + n]) for i in range(len(units) - n + 1))
        gram, count = grams.most_common(1)[0]
        if count > 1 and count * sum(len(u) for u in gram) / max(total, 1) > limit:
            return f"repetition:top_{n}gram"
    return None


class RepetitionFilter(Filter):
    """Duplicate lines/paragraphs and top n-gram character shares (Gopher); reasons `repetition:<rule>`."""

    name = "repetition"
    params_class = RepetitionParams

    def __init__(self, params: RepetitionParams) -> None:
        self.params = params

    def reasons(self, text: pa.ChunkedArray) -> pa.Array:
        return pa.array([repetition_reason(value, self.params) for value in text.to_pylist()], pa.string())
