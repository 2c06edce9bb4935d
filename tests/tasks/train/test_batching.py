"""Length bucketing and token tensors."""

from __future__ import annotations

import pyarrow as pa
import torch

from tasks.train.batching import bucket_batches, pad_ids, token_tensors


def test_bucketing_covers_every_example_exactly_once():
    lengths = [(i * 37) % 101 for i in range(1000)]
    batches = bucket_batches(lengths, batch_size=32, bucket_size=4, shuffle=True, seed=3)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert all(len(b) <= 32 for b in batches)


def test_bucketing_groups_similar_lengths():
    lengths = [(i * 37) % 101 for i in range(1000)]
    bucketed = bucket_batches(lengths, batch_size=32, bucket_size=8, shuffle=True, seed=3)
    random_batches = bucket_batches(lengths, batch_size=32, bucket_size=1, shuffle=True, seed=3)

    def mean_spread(batches):
        return sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)

    assert mean_spread(bucketed) < 0.25 * mean_spread(random_batches)


def test_bucketing_is_seeded_and_epochs_differ():
    lengths = list(range(200))
    assert bucket_batches(lengths, 16, 2, True, seed=1) == bucket_batches(lengths, 16, 2, True, seed=1)
    assert bucket_batches(lengths, 16, 2, True, seed=1) != bucket_batches(lengths, 16, 2, True, seed=2)


def test_unshuffled_batches_are_sorted_by_length():
    assert bucket_batches([5, 1, 3, 1], batch_size=2, shuffle=False) == [[1, 3], [2, 0]]


def test_token_tensors_cut_and_keep_empty_rows():
    column = pa.chunked_array([pa.array([[1, 2, 3], [], None], pa.list_(pa.int32())), pa.array([[7, 8]], pa.list_(pa.int32()))])
    out = token_tensors(column, max_length=2)
    assert [t.tolist() for t in out] == [[1, 2], [], [], [7, 8]]
    assert out[0].dtype == torch.long


def test_pad_ids_pads_with_zero_and_reports_lengths():
    ids, lengths = pad_ids([torch.tensor([4, 5, 6]), torch.tensor([9])])
    assert ids.tolist() == [[4, 5, 6], [9, 0, 0]]
    assert lengths.tolist() == [3, 1]
