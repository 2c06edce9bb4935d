"""Examples -> batches: token tensors from Arrow list columns, and length-bucketed batch order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor


def token_tensors(column: pa.ChunkedArray | pa.Array, max_length: int | None = None) -> list[Tensor]:
    """A `list<int>` Arrow column -> one int64 tensor per row (views over one shared buffer),
    each cut to its first `max_length` ids when given. Null rows become empty tensors."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.int64)
    pieces = torch.split(torch.from_numpy(flat), lengths.tolist()) if len(lengths) else ()
    if max_length is None:
        return list(pieces)
    return [piece[:max_length] for piece in pieces]


def bucket_batches(lengths: Sequence[int] | np.ndarray, batch_size: int, bucket_size: int = 50, shuffle: bool = True, seed: int = 0) -> list[list[int]]:
    """Example lengths -> batches of example indices, each index exactly once.

    With `shuffle`, indices are permuted (seeded), cut into pools of `batch_size * bucket_size`,
    each pool is sorted by length and cut into batches, and the batch order is permuted: batches
    hold similar lengths (little padding) while epochs still differ. Without `shuffle`, all indices
    are sorted by length (stable) and cut in order, for validation and scoring.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    pool = batch_size * bucket_size
    batches: list[list[int]] = []
    for start in range(0, n, pool):
        chunk = perm[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def pad_ids(sequences: Sequence[Tensor], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """Token tensors -> (padded `[batch, max_len]` int64 ids, `[batch]` int64 lengths)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    ids = torch.nn.utils.rnn.pad_sequence(list(sequences), batch_first=True, padding_value=pad_id)
    return ids, lengths
