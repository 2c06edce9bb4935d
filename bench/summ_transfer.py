"""Generalisation of a trained summarizer to text it never saw, against Lead-3 and the oracle
on the same documents (same code as the evaluate stage: tasks/evaluate/summarizer.py).

    python -P bench/summ_transfer.py BUNDLE_DIR DATASET [--limit N]

DATASET: `ag_news` (../shared/data/ag_news_test: description -> its headline; another outlet mix
than the BBC, one-paragraph texts), `scitldr` (../shared/data/scitldr_a test: abstract -> first
TLDR; scientific, abstractive). Prints one JSON line with the metrics.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
from pathlib import Path

import pyarrow as pa

from tasks.audit.config import AuditConfig
from tasks.evaluate.summarizer import evaluate_summaries
from tasks.train.bundle import load_bundle, load_predictor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def ag_news(limit: int) -> pa.Table:
    """AG News test rows -> `id`, `text` (description, entities and escaped newlines cleaned), `summary` (title)."""
    ids, texts, summaries = [], [], []
    with open(DATA / "ag_news_test" / "test.csv", newline="", encoding="utf-8") as handle:
        for i, (_, title, description) in enumerate(csv.reader(handle)):
            if i >= limit:
                break
            clean = html.unescape(re.sub(r"#(\d+);", r"&#\1;", description)).replace("\\", " ")
            ids.append(f"ag{i}")
            texts.append(clean)
            summaries.append(html.unescape(re.sub(r"#(\d+);", r"&#\1;", title)))
    return pa.table({"id": ids, "text": texts, "summary": summaries})


def scitldr(limit: int) -> pa.Table:
    """SciTLDR-A test rows -> `id`, `text` (the abstract's sentences, one per line), `summary` (first TLDR)."""
    rows = [json.loads(line) for line in (DATA / "scitldr_a" / "test.jsonl").read_text(encoding="utf-8").splitlines()][:limit]
    return pa.table(
        {"id": [r["paper_id"] for r in rows], "text": ["\n".join(s.strip() for s in r["source"]) for r in rows], "summary": [r["target"][0] for r in rows]}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("dataset", choices=["ag_news", "scitldr"])
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    bundle = load_bundle(Path(args.bundle))
    table = {"ag_news": ag_news, "scitldr": scitldr}[args.dataset](args.limit)
    evaluation, _ = evaluate_summaries(load_predictor(Path(args.bundle)), bundle.config, table, AuditConfig())
    print(evaluation.headline())
    print(json.dumps({"dataset": args.dataset, "documents": evaluation.documents, **evaluation.metrics}))


if __name__ == "__main__":
    main()
