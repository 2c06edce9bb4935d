"""The dense bidirectional run equals the packed one at every real position (values and grads)."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tasks.train.models.padded_lstm import padded_bidirectional, reverse_within_lengths


def test_reverse_within_lengths_literal():
    index = reverse_within_lengths(torch.tensor([3, 1, 4]), 4)
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]
    # an involution: applying it twice gives the identity
    assert index.gather(1, index).tolist() == [[0, 1, 2, 3]] * 3


@pytest.mark.parametrize("num_layers", [1, 2])
def test_padded_bidirectional_equals_packed(num_layers: int):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 4, num_layers=num_layers, batch_first=True, bidirectional=True)
    lengths = torch.tensor([6, 2, 5, 1])
    x = torch.randn(4, 6, 5, requires_grad=True)
    valid = (torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)

    packed, _ = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    expected, _ = pad_packed_sequence(packed, batch_first=True, total_length=6)
    (expected * valid).sum().backward()
    expected_grads = [x.grad.clone()] + [p.grad.clone() for p in lstm.parameters()]
    x.grad = None
    lstm.zero_grad()

    actual = padded_bidirectional(lstm, x, lengths)
    (actual * valid).sum().backward()
    torch.testing.assert_close(actual * valid, expected * valid)
    for got, want in zip([x.grad] + [p.grad for p in lstm.parameters()], expected_grads):
        torch.testing.assert_close(got, want)


def test_padded_bidirectional_ignores_padding_values():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 2, batch_first=True, bidirectional=True)
    x = torch.randn(1, 5, 3)
    noisy = x.clone()
    noisy[0, 3:] = 100.0  # padding after length 3
    lengths = torch.tensor([3])
    torch.testing.assert_close(padded_bidirectional(lstm, x, lengths)[:, :3], padded_bidirectional(lstm, noisy, lengths)[:, :3])


def test_padded_bidirectional_rejects_unidirectional():
    with pytest.raises(ValueError, match="bidirectional"):
        padded_bidirectional(torch.nn.LSTM(3, 2, batch_first=True), torch.randn(1, 2, 3), torch.tensor([2]))
