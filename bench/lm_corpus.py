"""Unlabelled English text of `../shared/data` for LM pretraining (transfer option (a)).

Every source is read WITHOUT its labels. Left out on purpose: SST-2 `dev.tsv` (the reported test
set: an LM that read it would be transductive), the fairness probe sets (`eec`, `crows_pairs`,
`winobias`: the audit measures on them) and the Chinese sets. Each source that is absent is
skipped and named in the returned report, so a partial `../shared/data` still works.

    python -m bench.lm_corpus ../shared/data     # prints rows / words per source
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv


def _lines(path: Path) -> Iterator[str]:
    """Non-blank lines of a UTF-8 text file (WikiText headings and blank lines dropped)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not (line.startswith("=") and line.endswith("=")):
                yield line


def _shakespeare(path: Path) -> Iterator[str]:
    """Tiny Shakespeare -> one text per speech (blank-line separated blocks)."""
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if block.strip():
            yield " ".join(block.split())


def _csv_column(path: Path, column: str, names: list[str] | None = None) -> Iterator[str]:
    """One column of a CSV (HTML line breaks of IMDb reviews become spaces)."""
    read = pacsv.ReadOptions(column_names=names) if names else pacsv.ReadOptions()
    table = pacsv.read_csv(path, read_options=read, convert_options=pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()}))
    for text in table[column].to_pylist():
        if text:
            yield text.replace("<br />", " ").replace("<br/>", " ").replace("\\", " ")


def _tsv_sentences(path: Path) -> Iterator[str]:
    """SST-2 `label<TAB>sentence` rows -> the sentences (labels dropped)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            _, _, sentence = line.rstrip("\n").partition("\t")
            if sentence.strip():
                yield sentence.strip()


def _jsonl(path: Path, key: str) -> Iterator[str]:
    """A JSONL field; a list of sentences (SciTLDR `source`) is joined with spaces."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            value = json.loads(line).get(key)
            text = " ".join(value) if isinstance(value, list) else value
            if text:
                yield text


# name -> (relative path, reader). SST-2 train sentences only; dev.tsv is never read here.
SOURCES: dict[str, tuple[str, Callable[[Path], Iterator[str]]]] = {
    "sst2_train": ("sst2/train.tsv", _tsv_sentences),
    "imdb_5k": ("imdb_5k/movie_review.csv", lambda p: _csv_column(p, "review")),
    "wikitext2_valid": ("wikitext2/valid.txt", _lines),
    "wikitext2_test": ("wikitext2/test.txt", _lines),
    "ag_news_test": ("ag_news_test/test.csv", lambda p: _csv_column(p, "description", ["label", "title", "description"])),
    "tinyshakespeare": ("tinyshakespeare/input.txt", _shakespeare),
    "scitldr_a": ("scitldr_a/train.jsonl", lambda p: _jsonl(p, "source")),
    "scitldr_a_dev": ("scitldr_a/dev.jsonl", lambda p: _jsonl(p, "source")),
    "scitldr_a_test": ("scitldr_a/test.jsonl", lambda p: _jsonl(p, "source")),
    "bbc_news_summary": ("bbc_news_summary/bbc_news_summary.jsonl", lambda p: _jsonl(p, "article")),
}


def unlabelled_english(data: Path, sources: list[str] | None = None) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """`../shared/data` folder (+ optional subset of `SOURCES` names) -> table `id`, `text`,
    `label` (all null), and a report `{source: {"rows", "words"}}` (absent files: rows = 0)."""
    ids: list[str] = []
    texts: list[str] = []
    report: dict[str, dict[str, int]] = {}
    for name in sources or list(SOURCES):
        rel, reader = SOURCES[name]
        path = data / rel
        rows = [t for t in reader(path)] if path.is_file() else []
        report[name] = {"rows": len(rows), "words": sum(len(t.split()) for t in rows)}
        ids.extend(f"{name}-{i}" for i in range(len(rows)))
        texts.extend(rows)
    table = pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(texts, pa.string()), "label": pa.nulls(len(ids), pa.string())})
    return table, report


if __name__ == "__main__":
    _, counts = unlabelled_english(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
    for source, c in counts.items():
        print(f"{source:18} {c['rows']:8d} rows {c['words']:10d} words")
    print(f"{'total':18} {sum(c['rows'] for c in counts.values()):8d} rows {sum(c['words'] for c in counts.values()):10d} words")
