"""Real corpora from ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from tasks.tokenize.config import SplitConfig, TokenizeConfig
from tasks.tokenize.encode import encode_table
from tasks.tokenize.split import split_table
from tasks.tokenize.trainer import tokenizer_hash, train_tokenizer

pytestmark = pytest.mark.shared_data


def _batches(texts: list[str], size: int = 1000) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def _unk_rate(table: pa.Table, unk_id: int) -> float:
    ids = table["input_ids"].combine_chunks().flatten().to_numpy()
    return float((ids == unk_id).mean())


@pytest.fixture(scope="module")
def chnsenticorp(shared_data) -> pa.Table:
    table = pacsv.read_csv(
        shared_data / "chnsenticorp_htl" / "ChnSentiCorp_htl_all.csv", convert_options=pacsv.ConvertOptions(column_types={"label": pa.string()})
    )
    texts = table["review"].to_pylist()
    return pa.table({"id": [f"htl-{i}" for i in range(len(texts))], "text": texts, "label": table["label"]})


@pytest.fixture(scope="module")
def sst2(shared_data) -> dict[str, pa.Table]:
    opts = pacsv.ParseOptions(delimiter="\t", quote_char=False)
    conv = pacsv.ConvertOptions(column_types={"label": pa.string()})
    out = {}
    for name in ("train", "dev"):
        t = pacsv.read_csv(shared_data / "sst2" / f"{name}.tsv", parse_options=opts, convert_options=conv)
        out[name] = pa.table({"id": [f"{name}-{i}" for i in range(t.num_rows)], "text": t["sentence"], "label": t["label"]})
    return out


@pytest.mark.parametrize("kind", ["char", "byte_bpe"])
def test_chinese_hotel_reviews_no_unk_explosion(kind, chnsenticorp):
    train, held_out = chnsenticorp.slice(0, 7000), chnsenticorp.slice(7000)
    cfg = TokenizeConfig(kind=kind, vocab_size=4000, max_length=10_000)
    tok = train_tokenizer(_batches([t for t in train["text"].to_pylist() if t]), cfg)
    encoded = encode_table(held_out, tok, cfg)
    assert _unk_rate(encoded, tok.token_to_id("[UNK]")) < (0.002 if kind == "char" else 1e-9)
    if kind == "byte_bpe":  # multi-character Chinese pieces: fewer tokens than characters
        chars = sum(len(t or "") for t in held_out["text"].to_pylist())
        assert pa.compute.sum(encoded["length"]).as_py() < 0.8 * chars
    unk, compared = tok.token_to_id("[UNK]"), 0
    for text, ids in list(zip(held_out["text"].to_pylist(), encoded["input_ids"].to_pylist()))[:100]:
        if text and unk not in ids:  # a rare character unseen in training decodes to nothing
            compared += 1
            assert tok.decode(ids).split() == unicodedata.normalize("NFKC", text).lower().split()
    assert compared >= 80


def test_sst2_bpe_round_trips_dev_and_splits_by_label(sst2):
    cfg = TokenizeConfig(kind="bpe", vocab_size=8000)
    tok = train_tokenizer(_batches(sst2["train"]["text"].to_pylist()), cfg)
    dev = encode_table(sst2["dev"], tok, cfg)
    assert _unk_rate(dev, tok.token_to_id("[UNK]")) < 0.001
    mean_len = pa.compute.mean(dev["length"]).as_py()
    words = sum(len(t.split()) for t in sst2["dev"]["text"].to_pylist()) / dev.num_rows
    assert words * 0.9 < mean_len < words * 1.6  # mostly whole words at an 8k vocabulary
    for text, ids in zip(sst2["dev"]["text"].to_pylist()[:100], dev["input_ids"].to_pylist()[:100]):
        assert tok.decode(ids) == text.strip()
    splits = split_table(sst2["train"].select(["id", "label"]), SplitConfig())
    joined = sst2["train"].select(["id", "label"]).join(splits, "id")
    for label in ("0", "1"):
        got = Counter(s for s, lab in zip(joined["split"].to_pylist(), joined["label"].to_pylist()) if lab == label)
        n = sum(got.values())
        assert abs(got["validation"] / n - 0.1) < 0.001 and abs(got["test"] / n - 0.1) < 0.001


def test_sst2_unigram_and_wordpiece_are_reproducible(sst2):
    texts = _batches(sst2["train"]["text"].to_pylist()[:20000])
    for kind in ("unigram", "wordpiece"):
        cfg = TokenizeConfig(kind=kind, vocab_size=3000)
        assert tokenizer_hash(train_tokenizer(texts, cfg)) == tokenizer_hash(train_tokenizer(texts, cfg))
