"""Train a Hugging Face `tokenizers` tokenizer from batches of texts, and hash it for lineage.

Every kind shares one normalizer (NFKC, optional lowercase). The subword kinds (`bpe`,
`wordpiece`, `unigram`) and `char` see SentencePiece-style words: spaces become `▁` and stay on
the token that follows, so the Metaspace decoder gives the text back with its spaces.
`byte_bpe` is GPT-2's byte-level BPE (no unknown token is ever needed).

Determinism: HF `tokenizers` 0.23 trains `bpe`, `byte_bpe` and `char` reproducibly, but not
`wordpiece` (the trainer numbers its `##` continuation alphabet in hash-map order, which changes
tie-breaks) nor `unigram` (EM scores differ in the last bits between runs, and required characters
get a 1e-4 score staircase in hash-set order). So `wordpiece` takes its vocabulary from the BPE
trainer (which is what `WordPieceTrainer` runs internally) and tokenizes with the WordPiece model
(greedy longest match) without the `##` marker, which `▁` word starts make redundant; and
`unigram` keeps the trained pieces (a deterministic set), raises every score within
`UNIGRAM_FLOOR_BAND` of the lowest one to that band's top (this absorbs the staircase; it only
touches the rarest pieces), rounds scores to `UNIGRAM_SCORE_DECIMALS` and orders ids by (score,
piece). What remains is last-bit EM noise (~1e-11) landing on a rounding boundary: about 1e-8 per
piece, so in practice the same corpus gives the same tokenizer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from tasks.common.pretrained import load_pretrained_tokenizer
from tasks.tokenize.config import TokenizeConfig

UNK = "[UNK]"
UNIGRAM_SCORE_DECIMALS = 3
UNIGRAM_FLOOR_BAND = 0.05
# Han ideographs and Japanese kana, each with the `▁` a preceding space left on it.
CJK_PATTERN = r"▁?[\p{Han}\p{Hiragana}\p{Katakana}]"
CJK_CHAR = Regex(CJK_PATTERN)


def _normalizer(cfg: TokenizeConfig) -> normalizers.Normalizer:
    steps: list[normalizers.Normalizer] = [normalizers.NFKC()]
    if cfg.lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def _metaspace_pre_tokenizer(cfg: TokenizeConfig) -> pre_tokenizers.PreTokenizer:
    """`▁`-marked words, punctuation isolated, CJK characters isolated when `cjk_split` (or
    every character for `char`)."""
    if cfg.kind == "char":  # no `▁` before the first word: Chinese rows need no extra token
        return pre_tokenizers.Sequence([pre_tokenizers.Metaspace(prepend_scheme="never"), pre_tokenizers.Split(Regex(r"."), behavior="isolated")])
    steps: list[pre_tokenizers.PreTokenizer] = [pre_tokenizers.Metaspace()]
    if cfg.cjk_split:
        steps.append(pre_tokenizers.Split(CJK_CHAR, behavior="isolated"))
    steps.append(pre_tokenizers.Punctuation(behavior="isolated"))
    return pre_tokenizers.Sequence(steps)


def build_untrained(cfg: TokenizeConfig) -> tuple[Tokenizer, trainers.Trainer]:
    """Config -> (tokenizer with model, normalizer, pre-tokenizer and decoder set; its trainer)."""
    specials = list(cfg.special_tokens)
    common = {"vocab_size": cfg.vocab_size, "special_tokens": specials, "show_progress": False}
    if cfg.kind == "byte_bpe":
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(min_frequency=cfg.min_frequency, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), **common)
    elif cfg.kind in ("bpe", "wordpiece"):  # wordpiece: BPE-trained vocabulary, see _canonical
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(min_frequency=cfg.min_frequency, **common)
    elif cfg.kind == "unigram":
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(unk_token=UNK, **common)  # no min_frequency in Unigram
    else:  # char
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        tokenizer.decoder = decoders.Metaspace(prepend_scheme="never")
        trainer = trainers.WordLevelTrainer(min_frequency=cfg.min_frequency, **common)
    tokenizer.normalizer = _normalizer(cfg)
    if cfg.kind != "byte_bpe":
        tokenizer.pre_tokenizer = _metaspace_pre_tokenizer(cfg)
    return tokenizer, trainer


def _with_model(trained: Tokenizer, model: models.Model, specials: list[str]) -> Tokenizer:
    """A tokenizer with `trained`'s normalizer, pre-tokenizer and decoder around a new `model`."""
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = trained.normalizer
    tokenizer.pre_tokenizer = trained.pre_tokenizer
    tokenizer.decoder = trained.decoder
    tokenizer.add_special_tokens(specials)
    return tokenizer


def _canonical(trained: Tokenizer, cfg: TokenizeConfig) -> Tokenizer:
    """Make `wordpiece` and `unigram` reproducible (see the module docstring); others unchanged."""
    specials = list(cfg.special_tokens)
    if cfg.kind == "wordpiece":
        model = models.WordPiece(vocab=trained.get_vocab(), unk_token=UNK, continuing_subword_prefix="")
        return _with_model(trained, model, specials)
    if cfg.kind == "unigram":
        pieces = [(p, s) for p, s in json.loads(trained.to_str())["model"]["vocab"] if p not in specials]
        if not pieces:
            return trained
        floor = min(s for _, s in pieces) + UNIGRAM_FLOOR_BAND
        scored = sorted((-round(max(s, floor), UNIGRAM_SCORE_DECIMALS), p) for p, s in pieces)
        vocab = [(token, 0.0) for token in specials] + [(piece, -neg) for neg, piece in scored]
        return _with_model(trained, models.Unigram(vocab, unk_id=specials.index(UNK), byte_fallback=False), specials)
    return trained


def train_tokenizer(texts: Iterable[list[str]], cfg: TokenizeConfig) -> Tokenizer:
    """Batches of texts (e.g. one list per clean shard or record batch) + config -> a trained
    tokenizer whose special tokens hold ids 0.. in config order (`[PAD]` = 0). No padding, no
    truncation and no post-processor are set: ids are exactly the text's tokens. Deterministic:
    the same texts and config give the same `to_str()`. Raises ValueError when no text is
    non-empty. Kind `pretrained`: the packaged tokenizer `cfg.name`, not trained (texts unread)."""
    if cfg.kind == "pretrained":
        return load_pretrained_tokenizer(str(cfg.name))
    tokenizer, trainer = build_untrained(cfg)
    rows_seen = [0]

    def non_empty_batches() -> Iterable[list[str]]:
        for batch in texts:
            kept = [t for t in batch if t]  # None/empty rows carry nothing
            rows_seen[0] += len(kept)
            yield kept

    tokenizer.train_from_iterator(non_empty_batches(), trainer=trainer)
    if rows_seen[0] == 0:
        raise ValueError("no non-empty text to train the tokenizer on")
    tokenizer = _canonical(tokenizer, cfg)
    for token_id, token in enumerate(cfg.special_tokens):
        if tokenizer.token_to_id(token) != token_id:
            raise RuntimeError(f"special token {token!r} got id {tokenizer.token_to_id(token)}, expected {token_id}")
    return tokenizer


def tokenizer_hash(tokenizer: Tokenizer) -> str:
    """Tokenizer -> sha256 hex digest of its JSON (`to_str()`), the lineage tag of the tokens."""
    return hashlib.sha256(tokenizer.to_str().encode("utf-8")).hexdigest()
