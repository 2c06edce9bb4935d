"""Test evaluation of an extractive summarizer, with its baselines computed on the same rows.

On the test split (rows with a text and a reference summary): the model's summaries, Lead-3,
Lead-k (the first sentences, as many as the model picked for that document) and the greedy oracle
(upper bound of sentence extraction), all scored with `rouge-score` (tasks/evaluate/rouge.py), plus
where the model picks (mean position, share of documents summarised by lead sentences only) and
the counterfactual identity check (tasks/evaluate/summary_counterfactual.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from tasks.audit.config import AuditConfig
from tasks.evaluate.evaluator import EvalContext, KindEvaluator, KindResult
from tasks.evaluate.rouge import ROUGE_TYPES, resolve_mode, rouge_per_doc
from tasks.evaluate.summary_counterfactual import SelectionCheck, selection_check
from tasks.train.bundle import load_predictor
from tasks.train.models.lstm_summarizer import SummarizerConfig, SummarizerKind, join_sentences, oracle_labels, rouge_words, split_sentences

SYSTEMS = ("model", "lead3", "lead_k", "oracle")
PREFIX = {"model": "", "lead3": "baseline_lead3_", "lead_k": "baseline_lead_k_", "oracle": "oracle_"}


class SummaryEvaluation(BaseModel):
    """Flat metrics (for MLflow and promotion), per-document rows and the identity check."""

    metrics: dict[str, float]
    rouge_tokenizer: str
    documents: int
    check: SelectionCheck | None

    def headline(self) -> str:
        """One line: the model vs Lead-3 vs the oracle (ROUGE-1/2/L F on the test split)."""
        m = self.metrics

        def row(prefix: str) -> str:
            return "/".join(f"{100 * m[f'{prefix}{t}_f']:.1f}" for t in ROUGE_TYPES)

        return (
            f"test ROUGE-1/2/L F ({self.documents} docs, rouge-score, {self.rouge_tokenizer}): model {row('')}, "
            f"Lead-3 {row('baseline_lead3_')}, Lead-k {row('baseline_lead_k_')}, oracle {row('oracle_')}"
        )


def held_out_documents(tokens: pa.Table) -> pa.Table:
    """Tokens table -> its test rows that have a non-empty text and summary (`id`, `text`, `summary`)."""
    test = tokens.filter(pc.equal(tokens["split"], "test")).select(["id", "text", "summary"])
    keep = pc.and_(pc.greater(pc.utf8_length(pc.fill_null(test["text"], "")), 0), pc.greater(pc.utf8_length(pc.fill_null(test["summary"], "")), 0))
    return test.filter(keep)


def baselines(sentences: list[str], summary: str, picked: int) -> dict[str, str]:
    """A document's sentences, its reference and how many sentences the model picked ->
    the Lead-3, Lead-k and greedy-oracle summaries."""
    labels = oracle_labels([rouge_words(s) for s in sentences], rouge_words(summary))
    return {
        "lead3": join_sentences(sentences[:3]),
        "lead_k": join_sentences(sentences[: max(picked, 1)]),
        "oracle": join_sentences([s for s, y in zip(sentences, labels) if y]),
    }


def evaluate_summaries(predictor: Any, cfg: SummarizerConfig, test: pa.Table, audit: AuditConfig | None) -> tuple[SummaryEvaluation, pd.DataFrame]:
    """A summarizer predictor (`text` -> `summary`, `selected`) on the test documents -> metrics
    of the model and its baselines (same rows, same scorer) and one row per document."""
    texts, references, ids = (test["text"].to_pylist(), test["summary"].to_pylist(), [str(i) for i in test["id"].to_pylist()])
    out = predictor.predict(pd.DataFrame({"text": texts}))
    selected = [list(map(int, s)) for s in out["selected"]]
    candidates: dict[str, list[str]] = {name: [] for name in SYSTEMS}
    candidates["model"] = out["summary"].tolist()
    positions, lead_only = [], []
    for text, reference, picked in zip(texts, references, selected):
        sentences = split_sentences(text, cfg)[: cfg.max_sentences]
        for name, summary in baselines(sentences, reference, len(picked)).items():
            candidates[name].append(summary)
        positions += picked
        lead_only.append(bool(picked) and max(picked) < 3)
    mode = resolve_mode(cfg.rouge_tokenizer, references)
    scores = {name: rouge_per_doc(references, candidates[name], mode) for name in SYSTEMS}
    n = max(len(texts), 1)
    metrics = {f"{PREFIX[name]}{key}": sum(d[key] for d in scores[name]) / n for name in SYSTEMS for key in scores[name][0]} if texts else {}
    metrics |= {
        "mean_summary_sentences": sum(len(p) for p in selected) / n,
        "mean_selected_position": sum(positions) / max(len(positions), 1),
        "lead3_only_share": sum(lead_only) / n,
        "test_docs": float(len(texts)),
    }
    if texts:
        metrics["rouge1_f_vs_lead3"] = metrics["rouge1_f"] / max(metrics["baseline_lead3_rouge1_f"], 1e-12)
    check = None
    if audit is not None:
        check = selection_check(lambda xs: [list(map(int, s)) for s in predictor.predict(pd.DataFrame({"text": xs}))["selected"]], texts, selected, audit)
        for axis in check.axes:
            metrics[f"selection_change_rate.{axis.axis}"] = axis.rate
        if check.max_rate is not None:
            metrics["selection_change_rate_max"] = check.max_rate
    rows = pd.DataFrame(
        {"id": ids, "selected": selected, "summary": candidates["model"], **{f"{name}_rouge1_f": [d["rouge1_f"] for d in scores[name]] for name in SYSTEMS}}
    )
    return SummaryEvaluation(metrics=metrics, rouge_tokenizer=mode, documents=len(texts), check=check), rows


def evaluate_summarizer(bundle_dir: str, cfg: SummarizerConfig, tokens: pa.Table, audit: AuditConfig) -> dict[str, Any]:
    """Bundle + tokens table -> the evaluate stage's result dict (metrics, per-document
    predictions table, gate verdict and reason, report for `probe`)."""
    evaluation, rows = evaluate_summaries(load_predictor(Path(bundle_dir)), cfg, held_out_documents(tokens), audit)
    check = evaluation.check
    reason = evaluation.headline() + ("; " + check.message if check else "")
    report = {
        "summarization": {
            "headline": evaluation.headline(),
            "rouge_tokenizer": evaluation.rouge_tokenizer,
            "documents": evaluation.documents,
            "selection_check": check.model_dump(mode="json") if check else None,
        }
    }
    return {
        "metrics": evaluation.metrics,
        "predictions": pa.Table.from_pandas(rows, preserve_index=False),
        "passed": check.passed if check else True,
        "reason": reason,
        "model_audit": None,
        "probe": report,
        "plots": [],
    }


class SummarizerEvaluator(KindEvaluator):
    """`lstm_summarizer`: rouge-score vs Lead-3, Lead-k and the oracle, and the identity-swap check (its gate)."""

    kind = SummarizerKind.name

    def evaluate(self, ctx: EvalContext) -> KindResult:
        """Context -> ROUGE metrics of the model and its baselines, the selection check's verdict."""
        result = evaluate_summarizer(ctx.record.bundle_dir, ctx.job.model, ctx.tokens, ctx.job.audit)
        return KindResult(metrics=result["metrics"], predictions=result["predictions"], passed=result["passed"], reason=result["reason"], probe=result["probe"])
