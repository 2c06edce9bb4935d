"""Baselines scored in the same evaluation as the model, on the same splits, with the same metrics.

- Classifiers: TF-IDF + logistic regression (scikit-learn), trained on the tokens table's `train`
  rows, its `C` chosen on `validation` (never on `test`), scored on `test` with the classifier
  metrics. Word 1-2-grams, or character 1-3-grams when the corpus is mostly CJK (or `baseline:
  char`), since whitespace words mean nothing in Chinese.
- Language models: an interpolated modified Kneser-Ney n-gram model (`tasks.evaluate.kneser_ney`)
  over the same token ids and the same test targets as the LSTM (the windows of the kind's
  `prepare`), so the two perplexities are per-token on the same tokens.

Each kind's evaluator (`tasks/evaluate/kinds.py`) says which baseline it has; `gains(...)` gives
the `baseline_<metric>` and `gain_over_baseline_<metric>` figures that go to MLflow, report.json,
the model card and the run summary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex
from pydantic import BaseModel, Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from tasks.evaluate.metrics import classification_metrics

_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
C_GRID = (0.25, 1.0, 4.0, 16.0, 64.0)
LOWER_IS_BETTER = {"perplexity", "loss", "ece"}


class BaselineResult(BaseModel):
    """A baseline's name, its test metrics, the hyper-parameters chosen on validation, and the
    test rows it was scored on (for the 'same split' check)."""

    name: str
    metrics: dict[str, float]
    params: dict[str, Any] = Field(default_factory=dict)
    test_ids: list[str] = Field(default_factory=list)


def cjk_share(texts: list[str]) -> float:
    """Share of CJK characters among the non-space characters of `texts` (0 when empty)."""
    chars = sum(len(t) - t.count(" ") for t in texts)
    return sum(len(_CJK.findall(t)) for t in texts) / chars if chars else 0.0


def _vectorizer(analyzer: str) -> TfidfVectorizer:
    if analyzer == "char":
        return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2, lowercase=True)
    return TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True, token_pattern=r"(?u)\b\w+\b|[!?]")


def _split(tokens: pa.Table, name: str) -> pa.Table:
    part = tokens.filter(pc.equal(tokens["split"], name))
    return part.filter(pc.is_valid(part["label"]))


def tfidf_lr_baseline(tokens: pa.Table, analyzer: str = "auto", calibration_bins: int = 10, seed: int = 0) -> BaselineResult:
    """TF-IDF + logistic regression trained on the `train` rows of a tokens table (columns `id`,
    `text`, `label`, `split`), `C` picked from `C_GRID` by validation accuracy (the first when there
    is no validation row), then refit on train and scored on the labelled `test` rows.
    `analyzer`: `word` (1-2-grams), `char` (1-3-grams) or `auto` (char when >= 30 % of the train
    text is CJK). Out: metrics named as the classifier's (accuracy, macro_f1, roc_auc, ece, ...)."""
    train, val, test = (_split(tokens, s) for s in ("train", "validation", "test"))
    x_train = [str(t) for t in train["text"].to_pylist()]
    y_train = [str(v) for v in train["label"].to_pylist()]
    if analyzer == "auto":
        analyzer = "char" if cjk_share(x_train[:2000]) >= 0.3 else "word"
    labels = sorted(set(y_train))
    if len(labels) < 2:
        raise ValueError(f"the TF-IDF baseline needs two classes in the train split, found {labels}")
    vectorizer = _vectorizer(analyzer)
    features = vectorizer.fit_transform(x_train)

    def fit(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(features, y_train)

    scores: dict[float, float] = {}
    if val.num_rows:
        x_val = vectorizer.transform([str(t) for t in val["text"].to_pylist()])
        y_val = np.asarray([str(v) for v in val["label"].to_pylist()], dtype=object)
        for c in C_GRID:
            scores[c] = float(np.mean(fit(c).predict(x_val) == y_val))
    best_c = max(C_GRID, key=lambda c: (scores.get(c, 0.0), -abs(np.log(c))))
    model = fit(best_c)
    y_test = [str(v) for v in test["label"].to_pylist()]
    proba = np.zeros((test.num_rows, len(labels)))
    if test.num_rows:
        proba[:, [labels.index(c) for c in model.classes_]] = model.predict_proba(vectorizer.transform([str(t) for t in test["text"].to_pylist()]))
    # a test label unseen in train gets a zero column: counted wrong, as for the model
    all_labels = sorted(set(labels) | set(y_test))
    if all_labels != labels:
        full = np.zeros((test.num_rows, len(all_labels)))
        full[:, [all_labels.index(c) for c in labels]] = proba
        proba, labels = full, all_labels
    metrics = classification_metrics(y_test, proba, labels, calibration_bins).flat() if test.num_rows else {}
    return BaselineResult(
        name=f"tfidf_{analyzer}_logreg",
        metrics=metrics,
        params={"analyzer": analyzer, "C": best_c, "validation_accuracy": scores, "features": len(vectorizer.vocabulary_)},
        test_ids=[str(i) for i in test["id"].to_pylist()],
    )


def gains(model_metrics: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    """`baseline_<m>` and `gain_over_baseline_<m>` for every metric both have (model minus
    baseline; for losses such as perplexity, baseline minus model, so a positive gain is better)."""
    out: dict[str, float] = {}
    for name, value in baseline.items():
        if name not in model_metrics or value is None or not np.isfinite(value):
            continue
        out[f"baseline_{name}"] = float(value)
        diff = float(model_metrics[name]) - float(value)
        out[f"gain_over_baseline_{name}"] = -diff if name in LOWER_IS_BETTER else diff
    return out


def baseline_sentence(metrics: dict[str, float], metric: str) -> str:
    """'beats the baseline by 5.00 points (accuracy 0.85 vs 0.8)' or 'does not beat the baseline:
    -2.00 points (...)';
    empty when `metrics` has no `gain_over_baseline_<metric>`. Points are percentage points for
    metrics in [0, 1], plain differences otherwise (perplexity)."""
    gain = metrics.get(f"gain_over_baseline_{metric}")
    base = metrics.get(f"baseline_{metric}")
    if gain is None or base is None or metric not in metrics:
        return ""
    lower = metric in LOWER_IS_BETTER
    scale, unit = (1.0, "") if metric in ("perplexity", "loss") else (100.0, " points")
    figures = f"{metric} {metrics[metric]:.4g} vs {base:.4g}" + ("; lower is better" if lower else "")
    if gain > 0:
        return f"beats the baseline by {gain * scale:.2f}{unit} ({figures})"
    return f"does not beat the baseline: {gain * scale:+.2f}{unit} ({figures})"


def gain_gate(metrics: dict[str, float], metric: str, min_gain: float | None) -> tuple[bool, str]:
    """Promotion gate `min_gain_over_baseline`: (True, '') when no threshold is set or the gain on
    `metric` is >= `min_gain`; (False, reason) when it is below or no baseline was computed."""
    if min_gain is None:
        return True, ""
    gain = metrics.get(f"gain_over_baseline_{metric}")
    if gain is None:
        return False, f"no baseline {metric} to compare with (min_gain_over_baseline {min_gain})"
    if gain < min_gain:
        return False, f"gain over the baseline {gain:+.4f} on {metric} is below min_gain_over_baseline {min_gain}"
    return True, f"gain over the baseline {gain:+.4f} on {metric} >= {min_gain}"


def lm_baseline(kind: Any, tokens: pa.Table, tokenizer: Any, model_cfg: Any, order: int = 3) -> BaselineResult:
    """Kneser-Ney n-gram baseline of a language-model kind: `kind.prepare` cuts the tokens table
    into the same windows the LSTM trains and is tested on; counts come from the train windows,
    perplexity from the test windows' targets (every id after a window's first)."""
    from tasks.evaluate.kneser_ney import evaluate_windows, train_kneser_ney

    prepared = kind.prepare(tokens, tokenizer, model_cfg)
    windows = {s: [np.asarray(e["input_ids"], dtype=np.int64) for e in prepared.splits.get(s, [])] for s in ("train", "test")}
    vocab = tokenizer.get_vocab_size()
    while order > 1 and float(vocab) ** order >= 2.0**62:
        order -= 1
    model = train_kneser_ney(windows["train"], vocab, order)
    metrics = evaluate_windows(model, windows["test"])
    return BaselineResult(
        name=f"kneser_ney_{order}gram",
        metrics={k: metrics[k] for k in ("perplexity", "loss")},
        params={"order": order, "vocab_size": vocab, "test_tokens": int(metrics["tokens"])},
    )


def _headline_metric(metrics: dict[str, Any]) -> str | None:
    names = [k[len("gain_over_baseline_") :] for k in metrics if k.startswith("gain_over_baseline_")]
    return next((m for m in ("accuracy", "perplexity") if m in names), names[0] if names else None)


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """The run summary's baseline line for one model ([] when no baseline was computed): the
    sentence of `baseline_sentence` on accuracy, else perplexity, else the first metric with a gain."""
    metric = _headline_metric(metrics)
    return [f"            baseline: {baseline_sentence(metrics, metric)}"] if metric else []


BASELINE_NOTES = {
    "lstm_classifier": (
        "Baseline: TF-IDF + logistic regression trained on the same train split, `C` tuned on "
        "validation, scored on the same test rows (`baseline_*` metrics in MLflow)."
    ),
    "lstm_lm": (
        "Baseline: an interpolated modified Kneser-Ney n-gram model over the same token ids, counted on "
        "the train windows, scored on the same test targets: per-token perplexity on the same tokens "
        "(`baseline_*` metrics in MLflow)."
    ),
}


def card_section(metrics: dict[str, Any], kind: str | None = None) -> list[str]:
    """The model card's `## Baseline` section ([] when no baseline was computed): a note naming the
    baseline of the model's `kind` (generic when unknown), then one sentence per metric that has a
    baseline figure, the headline one (accuracy, else perplexity) first."""
    metric = _headline_metric(metrics)
    if metric is None:
        return []
    others = [
        k[len("gain_over_baseline_") :] for k in metrics if k.startswith("gain_over_baseline_") and k[len("gain_over_baseline_") :] in ("macro_f1", "roc_auc")
    ]
    lines = [f"- The model {baseline_sentence(metrics, m)}." for m in dict.fromkeys([metric, *others])]
    note = BASELINE_NOTES.get(
        kind or "",
        (
            "Baseline: TF-IDF + logistic regression (or a Kneser-Ney n-gram LM) trained on the same train "
            "split, tuned on validation, scored on the same test rows (`baseline_*` metrics in MLflow)."
        ),
    )
    return ["## Baseline", "", note, "", *lines, ""]
