"""`exact_dedup` and `near_dedup`: corpus-wide duplicate removal in three calls (signatures, decide, apply).

Both keep the smallest id of each group of duplicates, so the result is independent of shard count and
row order. Near dedup is MinHash LSH: datasketch's permutations, applied to all shingles of a shard at
once with numpy (the same values as datasketch's default `affine32` MinHash), then banding. The decision
(`tasks.clean.dedup_decide`) reads the signature parts column by column, band by band.
"""

from __future__ import annotations

import hashlib

import datasketch
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from tasks.clean.base import CJK_CHAR, Deduplicator, StepParams
from tasks.clean.dedup_decide import ParquetSignatures, TableSignatures, decide_exact, decide_near


class ExactDedupParams(StepParams):
    """Drop documents whose normalised text (case-folded, whitespace-collapsed) equals another's; keep the smallest id."""

    casefold: bool = True


class NearDedupParams(StepParams):
    """MinHash LSH (datasketch permutations): documents sharing a band bucket are clustered; the smallest id stays."""

    num_perm: int = Field(default=128, ge=8)
    bands: int = Field(default=16, ge=1)
    shingle_size: int = Field(default=5, ge=1, description="word n-grams; character n-grams for CJK text")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="if set, a candidate pair also needs this estimated Jaccard (band agreement share)"
    )
    seed: int = 1

    @model_validator(mode="after")
    def _bands_divide(self) -> NearDedupParams:
        if self.num_perm % self.bands:
            raise ValueError(f"bands ({self.bands}) must divide num_perm ({self.num_perm})")
        return self


MIX = np.uint64(0x100000001B3)
CELLS_PER_CHUNK = 4_000_000  # shingles x permutations held at once
ROWS_PER_BATCH = 2_000  # rows shingled at once: bounds memory whatever the shard size


def _hash64(values: list[str]) -> np.ndarray:
    """Stable 64-bit hash (blake2b) of each string, as a uint64 array."""
    digest = b"".join(hashlib.blake2b(v.encode("utf-8"), digest_size=8).digest() for v in values)
    return np.frombuffer(digest, dtype=np.uint64).copy()


def _key_text(text: pa.ChunkedArray | pa.Array, casefold: bool) -> pa.Array:
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"\s+", " "))
    return pc.utf8_lower(text) if casefold else text


class ExactDedup(Deduplicator):
    """Drop rows whose case-folded, whitespace-collapsed text equals that of a smaller id (reason `duplicate`)."""

    name = "exact_dedup"
    params_class = ExactDedupParams
    reason = "duplicate"

    def __init__(self, params: ExactDedupParams) -> None:
        self.params = params

    def signatures(self, table: pa.Table) -> pa.Table:
        keys = _key_text(table.column("text"), self.params.casefold).to_pylist()
        return pa.table({"id": table.column("id"), "hash": pa.array(_hash64(keys), pa.uint64())})

    def decide(self, signatures: list[pa.Table]) -> pa.Table:
        return decide_exact(TableSignatures(signatures), self.reason)

    def decide_parts(self, uris: list[str]) -> pa.Table:
        return decide_exact(ParquetSignatures(uris), self.reason)


def shingle_hashes(text: pa.ChunkedArray | pa.Array, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every shingle of every row: word n-grams, each CJK character being a word (character n-grams).

    Returns (hashes as uint64 < 2**32, owner row of each hash). Rows with fewer than `size` tokens give one
    shingle of all their tokens; rows without tokens give none.
    """
    lowered = pc.utf8_lower(text)
    spaced = pc.replace_substring_regex(pc.replace_substring_regex(lowered, r"[\p{P}\p{S}]+", " "), f"({CJK_CHAR})", r" \1 ")
    tokens = pc.utf8_split_whitespace(spaced)
    counts = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(tokens)
    if len(flat) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    encoded = pc.dictionary_encode(flat).combine_chunks() if isinstance(flat, pa.ChunkedArray) else pc.dictionary_encode(flat)
    token_hash = _hash64(encoded.dictionary.to_pylist())[encoded.indices.to_numpy(zero_copy_only=False)]
    owner = np.repeat(np.arange(len(counts)), counts)
    ends = np.cumsum(counts)[owner]
    starts = ends - counts[owner]
    position = np.arange(len(flat))
    combined = np.zeros(len(flat), np.uint64)
    with np.errstate(over="ignore"):
        for k in range(size):
            idx = position + k
            valid = idx < ends
            combined = (combined ^ np.where(valid, token_hash[np.minimum(idx, len(flat) - 1)], np.uint64(0))) * MIX
    keep = (position + size <= ends) | ((counts[owner] < size) & (position == starts))
    return (combined[keep] >> np.uint64(32)), owner[keep]


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: the pre-mix datasketch's default `affine32` scheme applies."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def minhash_matrix(hashes: np.ndarray, owner: np.ndarray, params: NearDedupParams) -> tuple[np.ndarray, np.ndarray]:
    """MinHash values (rows with shingles x num_perm, uint32), equal to datasketch's `affine32` MinHash fed the
    same 32-bit shingle hashes; and the row numbers that have them."""
    a, b = datasketch.MinHash(num_perm=params.num_perm, seed=params.seed).permutations
    present = np.unique(owner)
    if len(hashes) == 0:
        return np.zeros((0, params.num_perm), np.uint32), present
    offsets = np.searchsorted(owner, present)
    mixed = _fmix32(hashes.astype(np.uint32))
    out = np.empty((len(present), params.num_perm), np.uint32)
    step = max(1, CELLS_PER_CHUNK // len(hashes))
    with np.errstate(over="ignore"):
        for lo in range(0, params.num_perm, step):
            hi = min(lo + step, params.num_perm)
            values = a[lo:hi, None] * mixed[None, :] + b[lo:hi, None]  # (perms, shingles): rows contiguous
            out[:, lo:hi] = np.minimum.reduceat(values, offsets, axis=1).T
    return out, present


class NearDedup(Deduplicator):
    """Cluster rows that share an LSH band bucket (optionally with estimated Jaccard >= threshold);
    every row but the smallest id of a cluster is dropped with reason `near_duplicate`."""

    name = "near_dedup"
    params_class = NearDedupParams
    reason = "near_duplicate"

    def __init__(self, params: NearDedupParams) -> None:
        self.params = params

    def signatures(self, table: pa.Table) -> pa.Table:
        parts = [self._signatures(table.slice(start, ROWS_PER_BATCH)) for start in range(0, table.num_rows, ROWS_PER_BATCH)]
        return pa.concat_tables(parts) if parts else self._signatures(table)

    def _signatures(self, table: pa.Table) -> pa.Table:
        p = self.params
        hashes, owner = shingle_hashes(table.column("text"), p.shingle_size)
        matrix, present = minhash_matrix(hashes, owner, p)
        rows_per_band = p.num_perm // p.bands
        columns: dict[str, pa.Array] = {"id": pc.take(table.column("id"), pa.array(present, pa.int64()))}
        with np.errstate(over="ignore"):
            for band in range(p.bands):
                key = np.full(len(present), np.uint64(band + 1))
                for value in matrix[:, band * rows_per_band : (band + 1) * rows_per_band].T:
                    key = (key ^ value.astype(np.uint64)) * MIX
                columns[f"band_{band}"] = pa.array(key, pa.uint64())
        if p.threshold is not None:
            flat = pa.array(matrix.ravel(), pa.uint32())
            columns["minhash"] = pa.FixedSizeListArray.from_arrays(flat, p.num_perm)
        return pa.table(columns)

    def decide(self, signatures: list[pa.Table]) -> pa.Table:
        p = self.params
        return decide_near(TableSignatures(signatures), p.bands, p.num_perm, p.threshold, self.reason)

    def decide_parts(self, uris: list[str]) -> pa.Table:
        p = self.params
        return decide_near(ParquetSignatures(uris), p.bands, p.num_perm, p.threshold, self.reason)
