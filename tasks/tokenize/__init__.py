"""Tokenize stage: train a tokenizer on clean text, encode rows to `list<int32>` ids, and assign
deterministic stratified train/validation/test splits by id hash.

The names below are loaded on first use (PEP 562), so that importing `tasks.tokenize.config` (the
config parser does) does not import the tokenizer trainer and torch."""

from importlib import import_module
from typing import Any

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


def __getattr__(name: str) -> Any:
    """The exported name `name`, imported from its module on first use."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tasks.tokenize' has no attribute {name!r}")
