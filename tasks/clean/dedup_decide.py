"""The corpus-wide duplicate decision, column by column, so memory does not grow with the signatures' width.

Signatures are read from their per-shard Parquet parts one column at a time (`ParquetSignatures`; or
from tables in memory, `TableSignatures`, the same code path). Rows are numbered by their id's rank
(ids sorted once, as an Arrow array: no Python strings), then each hash column (exact dedup) or LSH
band (near dedup) is sorted on its own: rows sharing a key are linked to the key's smallest id, and
the links of each band are merged into the running components (scipy connected_components over the
components they touch) before the next band is read. With a Jaccard threshold, only the MinHash rows of that band's candidate pairs are
read. What is held: ids (Arrow), one rank and one component label per row, and one band at a time —
instead of every band, the MinHash matrix and ids as Python objects. The decision is the one
`decide` gave before: the smallest id of each component stays, the same for any shard count or order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tasks.clean.base import DECISION_SCHEMA


@dataclass
class TableSignatures:
    """Signature tables in memory, in shard order."""

    tables: list[pa.Table]

    def column(self, name: str) -> pa.ChunkedArray:
        """One column of all shards, concatenated in shard order."""
        return pa.chunked_array([c for t in self.tables for c in t.column(name).chunks], self.tables[0].schema.field(name).type)

    def take(self, name: str, positions: np.ndarray) -> pa.Array:
        """Rows `positions` (ascending, across all shards) of one column."""
        return self.column(name).take(pa.array(positions, pa.int64())).combine_chunks()

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables)


@dataclass
class ParquetSignatures:
    """Signature parts on disk (local paths or fsspec URLs), in shard order; read one column at a time."""

    uris: list[str]

    def _read(self, uri: str, name: str) -> pa.ChunkedArray:
        from tasks.common.dataset import read_part

        return read_part(uri, columns=[name]).column(name)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column of all parts, concatenated in part order."""
        parts = [self._read(uri, name) for uri in self.uris]
        return pa.chunked_array([c for p in parts for c in p.chunks], parts[0].type)

    def take(self, name: str, positions: np.ndarray) -> pa.Array:
        """Rows `positions` (ascending, across all parts) of one column; reads only the parts holding some."""
        out, offset = [], 0
        for uri, rows in zip(self.uris, self.row_counts):
            local = positions[(positions >= offset) & (positions < offset + rows)] - offset
            if len(local):
                out.append(self._read(uri, name).take(pa.array(local, pa.int64())).combine_chunks())
            offset += rows
        return pa.concat_arrays(out)

    @cached_property
    def row_counts(self) -> list[int]:
        """Rows per part, from the Parquet footers."""
        import fsspec
        import pyarrow.parquet as pq

        counts = []
        for uri in self.uris:
            fs, path = fsspec.core.url_to_fs(uri)
            with fs.open(path, "rb") as handle:
                counts.append(pq.ParquetFile(handle).metadata.num_rows)
        return counts

    @property
    def rows(self) -> int:
        return sum(self.row_counts)


Signatures = TableSignatures | ParquetSignatures


def _index_type(n: int) -> type:
    return np.int32 if n < 2**31 - 1 else np.int64


def rank_ids(source: Signatures) -> tuple[pa.Array, np.ndarray]:
    """Ids sorted ascending (Arrow) and, per row in shard order, its id's rank."""
    ids = source.column("id")
    order = pc.sort_indices(ids).to_numpy()
    rank = np.empty(len(order), _index_type(len(order)))
    rank[order] = np.arange(len(order), dtype=rank.dtype)
    return ids.take(pa.array(order)).combine_chunks(), rank


def key_links(keys: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows sharing a key, as (first, member) row positions: first = the smallest-id row of the key."""
    order = np.lexsort((rank, keys))
    sorted_keys = keys[order]
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    return first[~starts], order[~starts]


def merge(label: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Components (label = smallest rank of the component, per rank) after adding edges src-dst (ranks).
    Only the components the new edges touch form the graph that is solved."""
    a, b = label[src], label[dst]
    joins = a != b
    if not joins.any():
        return label
    roots, inverse = np.unique(np.concatenate([a[joins], b[joins]]), return_inverse=True)
    k, m = len(roots), int(joins.sum())
    graph = coo_matrix((np.ones(m, np.int8), (inverse[:m], inverse[m:])), shape=(k, k))
    _, component = connected_components(graph, directed=False)
    smallest = np.full(component.max() + 1, len(label), label.dtype)
    np.minimum.at(smallest, component, roots.astype(label.dtype))  # roots ascending: smallest root per component
    remap = np.arange(len(label), dtype=label.dtype)
    remap[roots] = smallest[component]
    return remap[label]


def decisions(sorted_ids: pa.Array, label: np.ndarray, reason: str) -> pa.Table:
    """`id, reason, duplicate_of` for every rank whose label is not itself, sorted by id."""
    drop = np.nonzero(label != np.arange(len(label), dtype=label.dtype))[0]
    return pa.table(
        {"id": sorted_ids.take(pa.array(drop)), "reason": pa.array([reason] * len(drop), pa.string()), "duplicate_of": sorted_ids.take(pa.array(label[drop]))},
        schema=DECISION_SCHEMA,
    )


def decide_exact(source: Signatures, reason: str) -> pa.Table:
    """Rows with equal `hash` -> all but the smallest id dropped."""
    if source.rows == 0:
        return DECISION_SCHEMA.empty_table()
    sorted_ids, rank = rank_ids(source)
    first, member = key_links(source.column("hash").to_numpy(), rank)
    label = np.arange(len(rank), dtype=rank.dtype)
    label[rank[member]] = rank[first]
    return decisions(sorted_ids, label, reason)


def decide_near(source: Signatures, bands: int, num_perm: int, threshold: float | None, reason: str) -> pa.Table:
    """Rows sharing a `band_<b>` key in any band (and, with `threshold`, MinHash agreement >= it) are clustered;
    all but the smallest id of each cluster dropped."""
    if source.rows == 0:
        return DECISION_SCHEMA.empty_table()
    sorted_ids, rank = rank_ids(source)
    label = np.arange(len(rank), dtype=rank.dtype)
    for band in range(bands):
        first, member = key_links(source.column(f"band_{band}").to_numpy(), rank)
        if threshold is not None and len(first):
            needed = np.unique(np.concatenate([first, member]))
            minhash = source.take("minhash", needed).flatten().to_numpy().reshape(len(needed), num_perm)
            a, b = minhash[np.searchsorted(needed, first)], minhash[np.searchsorted(needed, member)]
            keep = (a == b).mean(axis=1) >= threshold
            first, member = first[keep], member[keep]
        label = merge(label, rank[first], rank[member])
    return decisions(sorted_ids, label, reason)
