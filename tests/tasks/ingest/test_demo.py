"""The synthetic demo corpora: deterministic, with the planted skew, dirt and structure they promise."""

from __future__ import annotations

import re
from collections import Counter

import pyarrow as pa

from tasks.ingest.demo import BASE_NEGATIVE, EN_IDENTITY, PLANTED_SKEW, demo_inbox, demo_interactions, demo_news, demo_reviews, item_catalog


def test_reviews_deterministic_per_seed():
    assert demo_reviews(300, seed=1).equals(demo_reviews(300, seed=1))
    assert not demo_reviews(300, seed=1).equals(demo_reviews(300, seed=2))


def test_reviews_have_the_planted_skew_and_a_balanced_control():
    table = demo_reviews(3000, seed=0)
    assert set(table.column_names) == {"id", "text", "label", "author_age_group"}
    assert set(table.column("label").to_pylist()) == {"positive", "negative"}
    rows = table.to_pylist()

    def negative_rate(phrases):
        labels = [r["label"] for r in rows if any(p in r["text"] for p in phrases)]
        return sum(label == "negative" for label in labels) / len(labels), len(labels)

    muslim, n = negative_rate(EN_IDENTITY[("religion", "muslim")] + ["穆斯林"])
    assert n > 80 and muslim > PLANTED_SKEW[("religion", "muslim")] - 0.1
    christian, _ = negative_rate(EN_IDENTITY[("religion", "christian")])
    assert abs(christian - BASE_NEGATIVE) < 0.12 and muslim - christian > 0.2
    by_age = Counter((r["author_age_group"], r["label"]) for r in rows)
    for age in ("18-29", "65+"):
        assert abs(by_age[age, "negative"] / (by_age[age, "negative"] + by_age[age, "positive"]) - 0.55) < 0.1


def test_reviews_mix_languages_and_carry_dirt_for_clean():
    texts = demo_reviews(3000, seed=0).column("text").to_pylist()
    chinese = sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in texts) / len(texts)
    assert 0.07 < chinese < 0.13
    assert "" in texts and "   " in texts and "Good." in texts
    assert any("@example.com" in t for t in texts) and any("555" in t for t in texts)
    assert any("<br />" in t for t in texts)
    assert any(count > 1 for count in Counter(texts).values())  # exact duplicates
    assert any(t.endswith(" Really!") and t.removesuffix(" Really!") in texts for t in texts)  # near-duplicates


def test_news_articles_with_extractive_summaries():
    table = demo_news(200, seed=0)
    assert len(set(table.column("label").to_pylist())) == 5
    for row in table.to_pylist():
        sentences = re.split(r"(?<=\.) ", row["text"])
        assert 5 <= len(sentences) <= 10
        lead, key = re.split(r"(?<=\.) ", row["summary"])
        assert sentences[0] == lead and key in sentences[1:4]
    assert demo_news(20, seed=4).equals(demo_news(20, seed=4))


def test_interactions_follow_category_paths():
    table = demo_interactions(4000, seed=0)
    assert table.schema.field("ts").type == pa.int64()
    successor = {a: b for items in item_catalog().values() for (a, _), (b, _) in zip(items, items[1:] + items[:1])}
    rows = table.to_pylist()
    pairs = [(a["item_id"], b["item_id"]) for a, b in zip(rows, rows[1:]) if a["user_id"] == b["user_id"]]
    assert all(a["ts"] < b["ts"] for a, b in zip(rows, rows[1:]) if a["user_id"] == b["user_id"])
    follows = sum(successor[a] == b for a, b in pairs) / len(pairs)
    assert follows > 0.6  # learnable next-item structure (random would be ~1/96)
    category = {item_id: cat for cat, items in item_catalog().items() for item_id, _ in items}
    assert all(category[r["item_id"]] == r["label"] for r in rows)
    assert len(set(table.column("id").to_pylist())) == 4000


def test_inbox_for_both_applications():
    recs = demo_inbox("recommendations", 10, seed=7)
    assert recs.column_names == ["id", "user_id", "history"]
    assert recs.schema.field("history").type == pa.list_(pa.string())
    assert all(len(h) == 5 for h in recs.column("history").to_pylist())
    summaries = demo_inbox("summaries", 4, seed=7)
    assert summaries.column_names == ["id", "text"]
    assert set(summaries.column("id").to_pylist()).isdisjoint(demo_inbox("summaries", 4, seed=8).column("id").to_pylist())
