"""Real public datasets in ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

from collections import Counter

from tasks.ingest.config import IngestConfig, SourceConfig


def test_ag_news_headerless_quoted_csv(shared_data, read_all):
    folder = shared_data / "ag_news_test"
    classes = (folder / "classes.txt").read_text().split()
    source = SourceConfig(
        uri=str(folder / "test.csv"),
        format="csv",
        csv_column_names=["class", "title", "description"],
        text_column="description",
        label_column="class",
        columns=["title"],
        label_map={str(i + 1): name for i, name in enumerate(classes)},
    )
    table = read_all(source, IngestConfig(batch_rows=1000))
    assert table.num_rows == 7600
    assert Counter(table.column("label").to_pylist()) == {"World": 1900, "Sports": 1900, "Business": 1900, "Sci/Tech": 1900}
    assert table.column("title").to_pylist()[0] == "Fears for T N pension after talks"
    assert len(set(table.column("id").to_pylist())) == 7600


def test_bbc_news_summary_latin1_article(shared_data, read_all):
    source = SourceConfig(
        uri=str(shared_data / "bbc_news_summary" / "bbc_news_summary.jsonl"),
        format="jsonl",
        text_column="article",
        label_column="category",
        id_column="id",
        columns=["title", "summary"],
    )
    table = read_all(source)
    assert table.num_rows == 2225
    assert not any(table.column("encoding_error").to_pylist())
    article = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))["sport/199"]
    assert "£" in article and "\ufffd" not in article  # the file's one Latin-1 article, decoded
    assert Counter(table.column("label").to_pylist())["sport"] == 511


def test_chnsenticorp_chinese_with_one_empty_review(shared_data, read_all):
    source = SourceConfig(uri=str(shared_data / "chnsenticorp_htl" / "ChnSentiCorp_htl_all.csv"), format="csv", text_column="review", label_column="label")
    table = read_all(source)
    texts = table.column("text").to_pylist()
    assert table.num_rows == 7766
    assert sum(1 for t in texts if not t.strip()) == 1  # kept; clean quarantines it as `empty`
    assert Counter(table.column("label").to_pylist()) == {"1": 5322, "0": 2444}
    assert texts[0].startswith("距离川沙公路较近") and '"蔡陆线"' in texts[0]


def test_imdb_5k_given_ids_and_html_kept(shared_data, read_all):
    source = SourceConfig(uri=str(shared_data / "imdb_5k" / "movie_review.csv"), format="csv", text_column="review", label_column="sentiment", id_column="id")
    table = read_all(source, IngestConfig(batch_rows=700))
    ids = table.column("id").to_pylist()
    assert table.num_rows == 5000 and len(set(ids)) == 5000 and ids[0] == "5814_8"
    assert sum("<br />" in t for t in table.column("text").to_pylist()) > 1000  # HTML is clean's job


def test_sst2_tsv_unquoted(shared_data, read_all):
    source = SourceConfig(uri=str(shared_data / "sst2" / "*.tsv"), format="tsv", text_column="sentence", label_column="label")
    table = read_all(source)
    assert table.num_rows == 6920 + 872
