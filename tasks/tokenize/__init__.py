"""Tokenize stage: train a tokenizer on clean text, encode rows to `list<int32>` ids, and assign
deterministic stratified train/validation/test splits by id hash.

The names below are loaded on first use (PEP 562), so that importing `tasks.tokenize.config` (the
config parser does) does not import the tokenizer trainer and torch."""

from tasks.common.lazy import lazy_exports

_EXPORTS = {
    "SplitConfig": "tasks.tokenize.config",
    "TokenizeConfig": "tasks.tokenize.config",
    "encode_table": "tasks.tokenize.encode",
    "encode_texts": "tasks.tokenize.encode",
    "assign_splits": "tasks.tokenize.split",
    "attach_splits": "tasks.tokenize.split",
    "split_table": "tasks.tokenize.split",
    "tokenizer_hash": "tasks.tokenize.trainer",
    "train_tokenizer": "tasks.tokenize.trainer",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
