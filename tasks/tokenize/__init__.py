"""Tokenize stage: train a tokenizer on clean text, encode rows to `list<int32>` ids, and assign
deterministic stratified train/validation/test splits by id hash."""
from tasks.tokenize.config import SplitConfig, TokenizeConfig
from tasks.tokenize.encode import encode_table, encode_texts
from tasks.tokenize.split import assign_splits, attach_splits, split_table
from tasks.tokenize.trainer import tokenizer_hash, train_tokenizer

__all__ = [
    "SplitConfig", "TokenizeConfig", "assign_splits", "attach_splits", "encode_table", "encode_texts", "split_table",
    "tokenizer_hash", "train_tokenizer",
]
