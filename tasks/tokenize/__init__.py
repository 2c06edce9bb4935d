"""Tokenize stage: train a tokenizer on clean text, encode rows to `list<int32>` ids, and assign
deterministic stratified train/validation/test splits by id hash.

The names below are loaded on first use (PEP 562), so that importing `tasks.tokenize.config` (the
config parser does) does not import the tokenizer trainer and torch."""

from tasks.common.lazy import lazy_exports

_EXPORTS = {  # module -> the names it exports here
    "tasks.tokenize.config": ("SplitConfig", "TokenizeConfig"),
    "tasks.tokenize.encode": ("encode_table", "encode_texts"),
    "tasks.tokenize.split": ("assign_splits", "attach_splits", "split_table"),
    "tasks.tokenize.trainer": ("tokenizer_hash", "train_tokenizer"),
}
__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
