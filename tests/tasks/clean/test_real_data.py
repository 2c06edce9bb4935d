"""The clean steps on real public datasets (../shared/data; skipped when absent)."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from tasks.clean import CleanConfig, build_plan

pytestmark = pytest.mark.shared_data


def as_table(ids, texts) -> pa.Table:
    return pa.table({"id": pa.array([str(i) for i in ids], pa.string()), "text": pa.array(texts, pa.string())})


def run(steps, table, shards=2):
    size = max(1, -(-table.num_rows // shards))
    kept, quarantined, counters = build_plan(CleanConfig.model_validate(steps), False).run([table.slice(i, size) for i in range(0, table.num_rows, size)])
    kept = pa.concat_tables(kept)
    assert kept.num_rows + quarantined.num_rows == table.num_rows
    return kept, quarantined, counters


def test_imdb_html_removed(shared_data):
    df = pd.read_csv(shared_data / "imdb_5k" / "movie_review.csv", nrows=400)
    assert df["review"].str.contains("<br", regex=False).sum() > 50
    kept, _, _ = run(["normalize"], as_table(df["id"], df["review"].tolist()))
    assert not any("<br" in t or "&quot;" in t for t in kept["text"].to_pylist())
    assert kept.num_rows == 400


def test_bbc_latin1_article_keeps_pound_sign(shared_data):
    rows = [json.loads(line) for line in (shared_data / "bbc_news_summary" / "bbc_news_summary.jsonl").open(encoding="utf-8")]
    article = next(r for r in rows if r["id"] == "sport/199")
    assert "£" in article["article"]
    sample = [article] + rows[:100]
    kept, _, _ = run(CleanConfig.default().model_dump(), as_table([r["id"] for r in sample], [r["article"] for r in sample]))
    text = dict(zip(kept["id"].to_pylist(), kept["text"].to_pylist()))["sport/199"]
    assert "£" in text and "\ufffd" not in text and "Â" not in text


def test_chnsenticorp_chinese_kept_and_empty_quarantined(shared_data):
    df = pd.read_csv(shared_data / "chnsenticorp_htl" / "ChnSentiCorp_htl_all.csv")
    empty = df[df["review"].isna()]
    assert len(empty) >= 1
    sample = pd.concat([df.dropna().head(400), empty])
    texts = [None if pd.isna(t) else t for t in sample["review"]]
    kept, quarantined, counters = run(["normalize", {"length": {"min_words": 3}}, {"language": {"keep": ["en", "zh"]}}], as_table(sample.index, texts))
    assert counters.steps["input"].dropped == {"empty": len(empty)}
    assert counters.steps["language"].dropped.get("language:zh", 0) == 0
    assert kept.num_rows >= 0.97 * 400, quarantined.to_pydict()


def test_lcsts_repeated_texts_removed(shared_data):
    df = pd.read_json(shared_data / "lcsts_part2" / "lcsts.jsonl", lines=True)
    repeats = int(df["text"].duplicated().sum())
    assert repeats == 177
    table = as_table(df["idx"].map(lambda i: f"{i:05d}"), df["text"].tolist())
    kept, quarantined, counters = run(["exact_dedup"], table, shards=3)
    assert counters.steps["exact_dedup"].dropped == {"duplicate": repeats}
    first_ids = set(df.drop_duplicates("text")["idx"].map(lambda i: f"{i:05d}"))
    assert set(kept["id"].to_pylist()) == first_ids  # the earliest (smallest id) copy survives
    _, _, near = run(["near_dedup"], table, shards=4)
    assert near.steps["near_dedup"].dropped["near_duplicate"] >= repeats


def test_ag_news_csv(shared_data):
    table = pcsv.read_csv(
        shared_data / "ag_news_test" / "test.csv",
        read_options=pcsv.ReadOptions(column_names=["label", "title", "description"]),
        convert_options=pcsv.ConvertOptions(column_types={"label": pa.string()}),
    )
    assert table.num_rows == 7600
    texts = [f"{a} {b}" for a, b in zip(table["title"].to_pylist()[:1500], table["description"].to_pylist()[:1500])]
    kept, quarantined, counters = run(CleanConfig.default().model_dump(), as_table(range(1500), texts), shards=3)
    assert kept.num_rows > 1400
    assert set(quarantined["reason"].to_pylist()) <= {"duplicate", "near_duplicate", "too_short", "empty"}
