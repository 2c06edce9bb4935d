"""The model card shows every section, with the figures it was given."""

from __future__ import annotations

from tasks.register.model_card import CardInput, GateResult, group_metric_rows, render_model_card

SECTIONS = [
    "Overview",
    "Data",
    "Tokenizer",
    "Training parameters",
    "Metrics",
    "Metrics per group",
    "Model audit gates",
    "Corpus audit",
    "Intended use",
    "Limitations",
    "Lineage",
]


def test_full_card() -> None:
    card = render_model_card(
        CardInput(
            model_name="demo-reviews-sentiment",
            version="3",
            kind="lstm_classifier",
            pipeline="demo-reviews",
            dataset_manifest_hash="abc123",
            rows={"train": 800, "test": 100},
            tokenizer={"model": "bpe", "vocab_size": 4000, "hash": "tok999"},
            training_params={"epochs": 2, "hidden_size": 64},
            metrics={"accuracy": 0.91234, "macro_f1": 0.9},
            group_metrics=[
                {"axis": "gender", "group": "female", "n": 40, "accuracy": 0.875},
                {"axis": "gender", "group": "male", "n": 38, "accuracy": 0.9, "subgroup_auc": 0.95},
            ],
            model_gates=[GateResult(name="counterfactual_gap", metric="max_gap", value=0.02, threshold=0.1, passed=True)],
            corpus_audit_headline="2 groups with a label-rate gap above 0.1",
            corpus_gates=[
                GateResult(name="label_rate_gap", metric="max_label_rate_gap", value=0.25, threshold=0.1, passed=False),
                GateResult(name="filter_impact", metric="max_filter_impact_ratio", value=1.1, threshold=2.0, passed=True),
            ],
            dataset_uris=["workspace/data/demo-reviews/tokens"],
            input_manifest_hashes={"tokens": "feed42"},
            code_version="c0de",
        )
    ).replace("&nbsp;", "")
    assert card.startswith("# Model card: demo-reviews-sentiment v3\n")
    for section in SECTIONS:
        assert f"\n## {section}\n" in card
    assert "| epochs | 2 |" in card and "| hidden_size | 64 |" in card  # the config as a table, not a dict repr
    assert "- **dataset manifest hash**: abc123" in card and "- **rows (train)**: 800" in card
    assert "- **accuracy**: 0.9123" in card and "- **vocab_size**: 4000" in card
    assert "| axis | group | n | accuracy | subgroup_auc |" in card
    assert "| gender | female | 40 | 0.8750 |  |" in card
    assert "2 groups with a label-rate gap above 0.1" in card
    assert "Gates: 1 passed, 1 failed or warned." in card
    assert "| label_rate_gap | max_label_rate_gap | 0.2500 | 0.1000 | NO | warn | - |" in card
    assert "filter_impact |" not in card.split("## Corpus audit")[1]  # only flagged gates are listed
    assert "- tokens manifest: `feed42`" in card and "- code version: `c0de`" in card
    for i, line in enumerate(lines := card.splitlines()):  # every table starts after a blank line
        if line.startswith("|") and not lines[i - 1].startswith("|"):
            assert lines[i - 1] == "", f"table at line {i} has no blank line before it"
        if line.startswith("|") and i + 1 < len(lines) and not lines[i + 1].startswith("|"):
            assert lines[i + 1] == "", f"table at line {i} has no blank line after it"


def test_minimal_card_says_what_is_missing() -> None:
    card = render_model_card(CardInput(model_name="m", kind="lstm_lm"))
    for section in SECTIONS:
        assert f"\n## {section}\n" in card
    assert card.count("_not recorded_") >= 6
    assert "Not for decisions about individual people" in card


def test_group_records_become_one_row_per_group_and_the_gate_keeps_its_verdict() -> None:
    records = [  # the model audit's report.json `records`: one per group and metric
        {"axis": "overall", "group": "all", "n": 100, "metric": "accuracy", "value": 0.9, "ci_low": 0.85, "ci_high": 0.94},
        {"axis": "gender", "group": "female", "n": 40, "metric": "accuracy", "value": 0.875, "ci_low": 0.8, "ci_high": 0.95},
        {"axis": "gender", "group": "female", "n": 40, "metric": "subgroup_auc", "value": None},
    ]
    rows = group_metric_rows(records)
    assert rows == [
        {"axis": "overall", "group": "all", "n": 100, "accuracy": "0.900 [0.850, 0.940]"},
        {"axis": "gender", "group": "female", "n": 40, "accuracy": "0.875 [0.800, 0.950]", "subgroup_auc": "-"},
    ]
    card = render_model_card(
        CardInput(
            model_name="m",
            kind="lstm_classifier",
            group_metrics=rows,
            model_gates=[GateResult(name="fairness", passed=False, action="gates champion", message="counterfactual gap 0.3 on en/religion vs limit 0.2")],
        )
    ).replace("&nbsp;", "")
    assert "| gender | female | 40 | 0.875 [0.800, 0.950] | - |" in card
    assert "| fairness | - | - | - | NO | gates champion | counterfactual gap 0.3 on en/religion vs limit 0.2 |" in card
    assert "None" not in card


def test_registry_description_fits_mlflows_column_and_keeps_the_audit() -> None:
    """MLflow on PostgreSQL refuses descriptions over 5,000 characters (varchar(5000))."""
    from tasks.register.model_card import registry_description

    sections = {
        "Overview": 300,
        "Data": 400,
        "Tokenizer": 300,
        "Training parameters": 2500,
        "Metrics": 900,
        "Baseline": 200,
        "Metrics per group": 1200,
        "Model audit gates": 500,
        "Corpus audit": 600,
        "Intended use": 200,
        "Limitations": 300,
        "Lineage": 700,
    }
    card = "# Model card: m v1\n\n" + "".join(f"## {t}\n\n{'x' * (n - 1)}\n\n" for t, n in sections.items())
    assert len(card) > 5000
    text = registry_description(card)
    assert len(text) <= 5000
    assert "## Metrics per group" in text and "## Model audit gates" in text and "## Metrics\n" in text
    assert "## Training parameters" not in text and "Training parameters" in text  # named in the note
    assert "model_card.md" in text
    short = "# Model card\n\n## Metrics\n\nacc 1\n"
    assert registry_description(short) == short
