"""Deterministic, exactly stratified train/validation/test assignment by seeded id hash.

Method (exact stratification with one small corpus-wide pass): every id gets a seeded 64-bit
BLAKE2b hash; within each stratum (label value; null labels form their own stratum) rows are
ordered by (hash, id), the first `round(n * test)` go to `test`, the next `round(n * validation)`
to `validation`, the rest to `train`. The result depends only on the set of (id, stratum) pairs
and the seed, never on shard count or row order, and each stratum's proportions match the
targets up to rounding (one row). Call it once on the concatenated `id`/label columns of all
shards (`split_table`), then add it to each shard with `attach_splits` (joins by `id`).

Trade-off: adding rows to a corpus can move some existing rows between splits (ranks shift);
a per-row hash threshold would not, but is stratified only in expectation.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.tokenize.config import SplitConfig

SPLIT_COLUMN = "split"
SPLIT_NAMES = np.array(["train", "validation", "test"], dtype=object)


def id_hashes(ids: pa.Array | pa.ChunkedArray, seed: int) -> np.ndarray:
    """String ids + seed -> uint64 array of seeded BLAKE2b-64 hashes (stable across processes)."""
    salt = seed.to_bytes(8, "little", signed=True)
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(i.encode("utf-8"), digest_size=8, salt=salt).digest(), "little") for i in ids.to_pylist()),
        dtype=np.uint64,
        count=len(ids),
    )


def _stratum_codes(strata: pa.Array | pa.ChunkedArray | None, n: int) -> np.ndarray:
    """Strata values -> int codes ordered by value (nulls: -1); all zeros when `strata` is None."""
    if strata is None:
        return np.zeros(n, dtype=np.int64)
    values = pc.cast(strata, pa.string()) if not pa.types.is_string(strata.type) else strata
    uniques = pc.unique(values).drop_null()
    uniques = pc.take(uniques, pc.sort_indices(uniques))
    codes = pc.index_in(values, value_set=uniques)
    return pc.fill_null(codes, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def assign_splits(ids: pa.Array | pa.ChunkedArray, strata: pa.Array | pa.ChunkedArray | None, cfg: SplitConfig) -> pa.Array:
    """All ids of the corpus (unique strings) + their strata (or None) -> string array aligned with
    `ids` holding "train", "validation" or "test" (see the module docstring for the method)."""
    n = len(ids)
    if ids.null_count:
        raise ValueError("ids must not be null")
    if pc.count_distinct(ids).as_py() != n:
        raise ValueError("ids must be unique to be split deterministically")
    if strata is not None and len(strata) != n:
        raise ValueError(f"strata has {len(strata)} values for {n} ids")
    codes = _stratum_codes(strata, n)
    hashes = id_hashes(ids, cfg.seed)
    id_order = np.asarray(pc.rank(ids, sort_keys="ascending", tiebreaker="first"), dtype=np.int64)
    order = np.lexsort((id_order, hashes, codes))  # by stratum, then hash, then id
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    n_test = np.repeat(np.rint(sizes * cfg.test), sizes)
    n_val = np.repeat(np.rint(sizes * cfg.validation), sizes)
    split_code = np.where(rank < n_test, 2, np.where(rank < n_test + n_val, 1, 0))
    result = np.empty(n, dtype=np.int64)
    result[order] = split_code
    return pa.array(SPLIT_NAMES[result], type=pa.string())


def split_table(id_label: pa.Table, cfg: SplitConfig, id_column: str = "id") -> pa.Table:
    """Corpus-wide table of `id` (+ `cfg.stratify_column` when set) -> table (`id`, `split`).
    Missing stratify column is an error, so a typo in `split.stratify_column` is not silently
    ignored."""
    strata = None
    if cfg.stratify_column is not None:
        if cfg.stratify_column not in id_label.column_names:
            raise KeyError(f"split.stratify_column {cfg.stratify_column!r} not in columns {id_label.column_names}")
        strata = id_label[cfg.stratify_column]
    ids = id_label[id_column]
    return pa.table({id_column: ids, SPLIT_COLUMN: assign_splits(ids, strata, cfg)})


def attach_splits(shard: pa.Table, splits: pa.Table, id_column: str = "id") -> pa.Table:
    """One shard + the corpus-wide `split_table` result -> the shard, rows in their order, plus a
    `split` string column. Raises KeyError when a shard id has no split (stale split table)."""
    positions = pc.index_in(shard[id_column], value_set=splits[id_column].combine_chunks())
    if positions.null_count:
        raise KeyError(f"{positions.null_count} ids of the shard are missing from the split table")
    return shard.append_column(SPLIT_COLUMN, pc.take(splits[SPLIT_COLUMN], positions))
