"""A bidirectional `nn.LSTM` run over a right-padded batch without reading the padding.

`pack_padded_sequence` is exact but its CPU kernel is 2-3x slower than the dense one (it
re-batches every time step). The same result comes from dense runs, one layer at a time:
the forward direction reads the padded batch as it is (it is causal, so the outputs before
each row's length never see its padding); the reverse direction reads each row reversed
*within its length* (padding stays at the end), and its outputs are reversed back the same
way. The weights are the `nn.LSTM`'s own (`weight_ih_l{k}`, `weight_ih_l{k}_reverse`, ...),
so checkpoints, layer groups and warm starts do not change. Outputs at and after each row's
length are undefined (callers mask them), as after `pad_packed_sequence` they are zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def reverse_within_lengths(lengths: Tensor, total_length: int) -> Tensor:
    """`[B]` lengths -> `[B, T]` gather index that reverses positions `0..len-1` of each row and
    keeps the padding positions where they are (an involution: applying it twice is identity)."""
    positions = torch.arange(total_length, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def _direction(lstm: nn.LSTM, layer: int, suffix: str, x: Tensor) -> Tensor:
    """One direction of one layer of `lstm` over `[B, T, I]` -> outputs `[B, T, H]`."""
    names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
    if lstm.bias:
        names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
    weights = [getattr(lstm, name) for name in names]
    zeros = x.new_zeros(1, x.shape[0], lstm.hidden_size)
    # torch.lstm is the kernel nn.LSTM.forward itself calls (one layer, one direction here)
    output, _, _ = torch.lstm(x, (zeros, zeros), weights, lstm.bias, 1, 0.0, False, False, True)
    return output


def padded_bidirectional(lstm: nn.LSTM, x: Tensor, lengths: Tensor) -> Tensor:
    """Bidirectional, batch-first `lstm` over right-padded `[B, T, I]` with `[B]` lengths ->
    `[B, T, 2H]` outputs equal to the packed run's at every position before each length
    (forward half, then reverse half, as `nn.LSTM` lays them out). Inter-layer dropout as in
    `nn.LSTM` (training mode only)."""
    if not (lstm.bidirectional and lstm.batch_first) or lstm.proj_size:
        raise ValueError("padded_bidirectional needs a batch-first, bidirectional nn.LSTM without projections")
    index = reverse_within_lengths(lengths.to(x.device), x.shape[1]).unsqueeze(-1)
    for layer in range(lstm.num_layers):
        if layer:
            x = F.dropout(x, lstm.dropout, lstm.training)
        forward = _direction(lstm, layer, "", x)
        flipped = x.gather(1, index.expand(-1, -1, x.shape[-1]))
        reverse = _direction(lstm, layer, "_reverse", flipped)
        x = torch.cat([forward, reverse.gather(1, index.expand(-1, -1, reverse.shape[-1]))], dim=-1)
    return x
