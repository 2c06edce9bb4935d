"""The model card shows every section, with the figures it was given."""
from __future__ import annotations

from tasks.register.model_card import CardInput, GateResult, render_model_card

SECTIONS = ["Overview", "Data", "Tokenizer", "Training parameters", "Metrics", "Metrics per group",
            "Model audit gates", "Corpus audit", "Intended use", "Limitations", "Lineage"]


def test_full_card() -> None:
    card = render_model_card(CardInput(
        model_name="demo-reviews-sentiment", version="3", kind="lstm_classifier", pipeline="demo-reviews",
        dataset_manifest_hash="abc123", rows={"train": 800, "test": 100},
        tokenizer={"model": "bpe", "vocab_size": 4000, "hash": "tok999"},
        training_params={"epochs": 2, "hidden_size": 64},
        metrics={"accuracy": 0.91234, "macro_f1": 0.9},
        group_metrics=[{"axis": "gender", "group": "female", "n": 40, "accuracy": 0.875},
                       {"axis": "gender", "group": "male", "n": 38, "accuracy": 0.9, "subgroup_auc": 0.95}],
        model_gates=[GateResult(name="counterfactual_gap", metric="max_gap", value=0.02, threshold=0.1, passed=True)],
        corpus_audit_headline="2 groups with a label-rate gap above 0.1",
        corpus_gates=[GateResult(name="label_rate_gap", metric="max_label_rate_gap", value=0.25, threshold=0.1,
                                 passed=False),
                      GateResult(name="filter_impact", metric="max_filter_impact_ratio", value=1.1, threshold=2.0,
                                 passed=True)],
        dataset_uris=["workspace/data/demo-reviews/tokens"], input_manifest_hashes={"tokens": "feed42"},
        code_version="c0de",
    ))
    assert card.startswith("# Model card: demo-reviews-sentiment v3\n")
    for section in SECTIONS:
        assert f"\n## {section}\n" in card
    assert "- **dataset manifest hash**: abc123" in card and "- **rows (train)**: 800" in card
    assert "- **accuracy**: 0.9123" in card and "- **vocab_size**: 4000" in card
    assert "| axis | group | n | accuracy | subgroup_auc |" in card
    assert "| gender | female | 40 | 0.8750 |  |" in card
    assert "2 groups with a label-rate gap above 0.1" in card
    assert "Gates: 1 passed, 1 failed or warned." in card
    assert "| label_rate_gap | max_label_rate_gap | 0.2500 | 0.1000 | NO | warn |" in card
    assert "filter_impact |" not in card.split("## Corpus audit")[1]  # only flagged gates are listed
    assert "- tokens manifest: `feed42`" in card and "- code version: `c0de`" in card


def test_minimal_card_says_what_is_missing() -> None:
    card = render_model_card(CardInput(model_name="m", kind="lstm_lm"))
    for section in SECTIONS:
        assert f"\n## {section}\n" in card
    assert card.count("_not recorded_") >= 6
    assert "Not for decisions about individual people" in card
