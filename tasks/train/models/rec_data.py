"""Interactions -> the recommender's examples (SASRec / GRU4Rec+ protocol).

Each user's items are ordered by (`ts`, `id`). Leave-last-out: the last item is the user's `test`
target (history: every earlier item), the second last the `validation` target, and the items
before it are the user's training sequence, learnt as next-item prediction at EVERY position
(windows of at most `max_history` inputs). Item index 0 is padding; item `i` of the sorted item
list has index `i + 1`. Seen items (the whole history, not only its window) are excluded when ranking.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import torch

GROUPS_COLUMN = "item_groups"
GROUP_SEPARATOR = "|"


def id_key(value: Any) -> str:
    """A user or item id as the string used in meta (`196`, `196.0` and `"196"` are the same)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def user_sequences(tokens: pa.Table) -> dict[str, list[str]]:
    """Interactions table (`user_id`, `item_id`, `ts`, `id`) -> each user's item ids (as strings)
    in chronological order (ties broken by `id`); users keep their first-seen order."""
    keys = [("ts", "ascending")] if "ts" in tokens.column_names else []
    keys = keys + ([("id", "ascending")] if "id" in tokens.column_names else [])
    ordered = tokens.select(["user_id", "item_id"] + [k for k, _ in keys]).sort_by(keys) if keys else tokens
    sequences: dict[str, list[str]] = {}
    for user, item in zip(ordered["user_id"].to_pylist(), ordered["item_id"].to_pylist()):
        if user is not None and item is not None:
            sequences.setdefault(id_key(user), []).append(id_key(item))
    return sequences


def training_windows(sequence: list[int], max_history: int) -> list[tuple[list[int], list[int]]]:
    """A training sequence -> `(inputs, targets)` windows, targets = inputs shifted by one: every
    item from the second on is a target exactly once, with up to `max_history` inputs per window
    (the last window ends at the sequence's end)."""
    windows = []
    end = len(sequence)
    while end > 1:
        start = max(0, end - max_history - 1)
        window = sequence[start:end]
        windows.append((window[:-1], window[1:]))
        end = start + 1
    return windows[::-1]


def leave_last_out(sequence: list[int], max_history: int) -> dict[str, list[Any]]:
    """One user's item indices -> `train`: `(inputs, targets)` windows over all but the last two
    items; `validation`/`test`: `(history window, seen items, target)` for the second last / last
    item (a user with two items has only `test`, with one item nothing)."""
    n = len(sequence)
    out: dict[str, list[Any]] = {"train": [], "validation": [], "test": []}
    if n >= 2:
        out["test"].append((sequence[max(0, n - 1 - max_history) : n - 1], sequence[: n - 1], sequence[n - 1]))
    if n >= 3:
        out["validation"].append((sequence[max(0, n - 2 - max_history) : n - 2], sequence[: n - 2], sequence[n - 2]))
        out["train"] = training_windows(sequence[: n - 2], max_history)
    return out


def eval_example(history: list[int], seen: list[int], target: int) -> dict[str, Any]:
    """One ranking example: history window, every seen item (excluded from the ranking), target."""
    return {"history": torch.tensor(history, dtype=torch.long), "seen": torch.tensor(seen, dtype=torch.long), "target": target}


def item_tokens(tokens: pa.Table, index: dict[str, int], max_tokens: int) -> list[list[int]]:
    """Per item index (0 = padding, empty): the token ids of the item's text (from its first row),
    cut to `max_tokens`."""
    out: list[list[int]] = [[] for _ in range(len(index) + 1)]
    if "input_ids" not in tokens.column_names:
        return out
    done = set()
    for item, ids in zip(tokens["item_id"].to_pylist(), tokens["input_ids"].to_pylist()):
        i = index.get(id_key(item)) if item is not None else None
        if i is not None and i not in done:
            out[i] = [int(t) for t in (ids or [])[:max_tokens]]
            done.add(i)
    return out


def item_groups(tokens: pa.Table, index: dict[str, int]) -> list[list[str]]:
    """Per item (aligned with the item list, without padding): its groups from `item_groups`
    ("A|B"), else its `label` (e.g. the demo's category), else none."""
    out: list[list[str]] = [[] for _ in range(len(index))]
    column = GROUPS_COLUMN if GROUPS_COLUMN in tokens.column_names else "label" if "label" in tokens.column_names else None
    if column is None:
        return out
    done = set()
    for item, value in zip(tokens["item_id"].to_pylist(), tokens[column].to_pylist()):
        i = index.get(id_key(item)) if item is not None else None
        if i is not None and i not in done and value:
            out[i - 1] = [g for g in str(value).split(GROUP_SEPARATOR) if g]
            done.add(i)
    return out
