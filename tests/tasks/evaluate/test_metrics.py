"""Metrics on literal arrays whose values are worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tasks.evaluate.metrics import classification_metrics, expected_calibration_error, perplexity

LABELS = ["neg", "pos"]
Y = ["neg", "neg", "pos", "pos"]
# P(pos) = .1 .6 .4 .9 -> predicted neg pos neg pos: two right, two wrong.
PROBA = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]])


def test_binary_accuracy_f1_confusion() -> None:
    report = classification_metrics(Y, PROBA, LABELS)
    assert report.n == 4
    assert report.accuracy == pytest.approx(0.5)
    # each class: 1 tp, 1 fp, 1 fn -> precision = recall = f1 = 0.5
    assert report.macro_f1 == pytest.approx(0.5)
    assert report.confusion == [[1, 1], [1, 1]]
    assert [(c.label, c.precision, c.recall, c.support) for c in report.per_class] == [("neg", 0.5, 0.5, 2), ("pos", 0.5, 0.5, 2)]


def test_binary_roc_auc_counts_ordered_pairs() -> None:
    # positive scores .4 .9 vs negative .1 .6: 3 of 4 pairs ordered correctly
    assert classification_metrics(Y, PROBA, LABELS).roc_auc == pytest.approx(0.75)


def test_ece_by_hand() -> None:
    # confidences .9 (right) .6 (wrong) .6 (wrong) .9 (right):
    # bin (.5,.6]: |0 - .6| * 2/4 = .3 ; bin (.8,.9]: |1 - .9| * 2/4 = .05
    assert classification_metrics(Y, PROBA, LABELS).ece == pytest.approx(0.35)
    assert expected_calibration_error(np.array([True, False]), np.array([0.7, 0.7]), 10) == pytest.approx(0.2)


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    correct = np.array([True, True, True, False])
    assert expected_calibration_error(correct, np.full(4, 0.75), 10) == pytest.approx(0.0)


def test_multiclass_one_vs_rest_auc_and_perfect_scores() -> None:
    labels = ["a", "b", "c"]
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    report = classification_metrics(["a", "b", "c", "a"], proba, labels)
    assert report.accuracy == 1.0
    assert report.macro_f1 == 1.0
    assert report.roc_auc == pytest.approx(1.0)
    assert report.confusion == [[2, 0, 0], [0, 1, 0], [0, 0, 1]]
    flat = report.flat()
    assert flat["f1.a"] == 1.0 and flat["roc_auc"] == 1.0 and "ece" in flat


def test_multiclass_auc_with_one_inverted_class() -> None:
    labels = ["a", "b", "c"]
    # class c's column ranks its own row lowest: its one-vs-rest AUC is 0; a and b are 1
    proba = np.array([[0.5, 0.2, 0.3], [0.2, 0.5, 0.3], [0.45, 0.45, 0.1]])
    report = classification_metrics(["a", "b", "c"], proba, labels)
    assert report.roc_auc == pytest.approx(2 / 3)


def test_single_class_split_has_no_auc_and_unknown_labels_fail() -> None:
    report = classification_metrics(["pos", "pos"], np.array([[0.2, 0.8], [0.7, 0.3]]), LABELS)
    assert report.roc_auc is None and "roc_auc" not in report.flat()
    with pytest.raises(ValueError, match="not among"):
        classification_metrics(["other"], np.array([[0.5, 0.5]]), LABELS)
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(Y, PROBA[:, :1], LABELS)


def test_perplexity() -> None:
    assert perplexity(4 * math.log(10), 4) == pytest.approx(10.0)


def test_flat_names_are_safe_mlflow_metric_names() -> None:
    report = classification_metrics(["a+b", "好评"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a+b", "好评"])
    assert {"f1.a_b", "f1.好评", "precision.a_b", "recall.好评"} <= set(report.flat())
