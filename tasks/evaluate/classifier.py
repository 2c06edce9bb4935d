"""The evaluate stage for a classifier: predict the test split, compute metrics, draw the plots;
the per-group model audit, counterfactual and minimal-pair probes, the TF-IDF baseline.

The same function scores the candidate (its bundle Predictor) and the current champion (its
MLflow pyfunc), so both are compared on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from tasks.audit.config import AuditConfig
from tasks.audit.lexicon import memberships
from tasks.audit.model_audit import counterfactual_probe, model_audit, model_gate
from tasks.audit.pair_probe import PairProbeConfig, load_crows_pairs, load_winobias_pairs, pair_probe
from tasks.audit.probe_gate import choose_probe_languages, language_shares
from tasks.evaluate.baselines import BaselineResult, tfidf_lr_baseline
from tasks.evaluate.compare import Predictor, labels_from_predictions, predict_split, proba_matrix
from tasks.evaluate.config import EvaluateConfig
from tasks.evaluate.evaluator import EvalContext, KindEvaluator, KindResult
from tasks.evaluate.metrics import ClassificationReport, classification_metrics
from tasks.evaluate.plots import confusion_matrix_png, reliability_png
from tasks.train.bundle import load_predictor
from tasks.train.models.lstm_classifier import ClassifierKind


class ClassifierEvaluation(BaseModel):
    """Test-split report, its flat metrics, the plot files written, and the per-row predictions."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    report: ClassificationReport
    metrics: dict[str, float]
    plots: dict[str, Path]
    predictions: pd.DataFrame


def evaluate_classifier(
    predictor: Predictor, test: pa.Table, cfg: EvaluateConfig, plot_dir: Path | None = None, label_column: str = "label"
) -> ClassifierEvaluation:
    """Score `test` (rows with raw `text` and a true `label`; unlabelled rows are skipped) with
    `predictor` and return metrics; with `plot_dir`, also write `confusion_matrix.png` and
    `reliability.png` there. Class order is the predictor's `prob_<class>` column order; a true
    label the model does not know raises ValueError."""
    labelled = test.filter(pc.is_valid(test[label_column]))
    predictions = predict_split(predictor, labelled, cfg.batch_size)
    labels = labels_from_predictions(predictions)
    y_true = [str(v) for v in labelled.column(label_column).to_pylist()]
    proba = proba_matrix(predictions, labels)
    report = classification_metrics(y_true, proba, labels, cfg.calibration_bins)
    plots: dict[str, Path] = {}
    if plot_dir is not None:
        plots["confusion_matrix"] = confusion_matrix_png(report, Path(plot_dir) / "confusion_matrix.png")
        plots["reliability"] = reliability_png(y_true, proba, labels, Path(plot_dir) / "reliability.png", cfg.calibration_bins)
    return ClassifierEvaluation(report=report, metrics=report.flat(), plots=plots, predictions=predictions)


def run_pair_probes(predict_proba, cfg: AuditConfig) -> dict[str, Any]:
    """Score the configured WinoBias / CrowS-Pairs minimal pairs; one report per probe set."""
    loaders = {"crows_pairs": load_crows_pairs, "winobias": load_winobias_pairs}
    probe_cfg = PairProbeConfig(bootstrap=cfg.model.bootstrap, seed=cfg.model.seed, confidence=cfg.confidence)
    return {name: pair_probe(predict_proba, loaders[name](path), probe_cfg).model_dump(mode="json") for name, path in cfg.model.pair_probes.items()}


class ClassifierEvaluator(KindEvaluator):
    """`lstm_classifier`: metrics and plots, per-group model audit, counterfactual and pair probes
    (the fairness gate), the champion re-scored on the same rows, the TF-IDF + LR baseline."""

    kind = ClassifierKind.name

    def evaluate(self, ctx: EvalContext) -> KindResult:
        """Context -> classification metrics, the model gate's verdict and the champion on the same rows."""
        from tasks.register.aliases import load_champion

        job, test = ctx.job, ctx.test
        predictor = load_predictor(Path(ctx.record.bundle_dir))
        ev = evaluate_classifier(predictor, test, job.evaluate, ctx.plot_dir)
        labels = ev.report.labels
        preds = ev.predictions
        frame = pd.DataFrame(
            {
                "id": preds["id"].astype(str),
                "y_true": test.filter(pc.is_valid(test["label"]))["label"].to_pylist(),
                "y_pred": preds["label"],
                "y_score": preds[f"prob_{labels[-1]}"],
            }
        )
        audit_report = model_audit(frame, memberships(test, job.audit), job.audit)
        shares = language_shares(ctx.tokens["text"].to_pylist())
        languages = choose_probe_languages(shares, job.audit.model.templates, job.audit.model.probe_languages, job.audit.model.min_language_share)

        def proba(texts: list[str]) -> Any:
            return proba_matrix(predictor.predict(pd.DataFrame({"text": texts})), labels)

        probe = counterfactual_probe(proba, job.audit, languages=languages)
        probe.language_shares = shares
        passed, reason = model_gate(audit_report, probe, job.audit)
        pairs = run_pair_probes(proba, job.audit)
        champion_on_split = None
        if ctx.champion is not None and (model := load_champion(job.registered_name, job.alias_champion)) is not None:
            champion_on_split = evaluate_classifier(model, test, job.evaluate).metrics
        return KindResult(
            metrics=ev.metrics,
            predictions=pa.Table.from_pandas(frame, preserve_index=False),
            passed=passed,
            reason=reason,
            champion=champion_on_split,
            champion_rescored=True,
            model_audit=audit_report.model_dump(mode="json"),
            probe={**probe.model_dump(mode="json"), "pair_probes": pairs},
            plots=list(ev.plots.values()),
        )

    def baseline(self, ctx: EvalContext) -> BaselineResult | None:
        """TF-IDF + logistic regression on the same splits (word or char n-grams, `evaluate.baseline`)."""
        cfg = ctx.job.evaluate
        return tfidf_lr_baseline(ctx.tokens, cfg.baseline, cfg.calibration_bins, seed=ctx.job.model.train.seed)
