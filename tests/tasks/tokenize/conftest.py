"""A small mixed English/Chinese corpus, fed to the trainer as batches like the lead's shard stream."""

from __future__ import annotations

import pytest

ENGLISH = [
    "The movie was wonderful and the actors were great.",
    "A boring film, with a weak plot and bad acting!",
    "I loved the music; the story was moving and funny.",
    "Hello world, this is a small test of the tokenizer.",
    "The quick brown fox jumps over the lazy dog.",
    "Great food, friendly staff, and a quiet room.",
]
CHINESE = [
    "这家酒店的服务很好，房间也很干净。",
    "早餐太差了，我不会再来这里住。",
    "今天天气很好，我们去北京玩。",
    "电影很好看，音乐也非常好听！",
    "Mixed 中文 and English 文本 in one line.",
]


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return (ENGLISH + CHINESE) * 8


@pytest.fixture(scope="session")
def batches(corpus: list[str]) -> list[list[str]]:
    return [corpus[i : i + 16] for i in range(0, len(corpus), 16)]
