"""Typed configuration of the audit stage (YAML section `audit:`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ALL_AXES = ["gender", "religion", "race_ethnicity", "nationality", "age", "disability", "sexual_orientation"]

GateMetric = Literal["max_label_rate_gap", "min_group_docs", "max_filter_impact_ratio"]


class GateConfig(BaseModel):
    """One threshold on a report figure and what to do when it is crossed.

    Metrics: `max_label_rate_gap` (largest |gap| among gaps whose interval excludes 0; passes when
    <= threshold), `min_group_docs` (smallest group present; passes when >= threshold),
    `max_filter_impact_ratio` (largest removed_rate / overall_removed_rate of a cleaning step;
    passes when <= threshold).
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    metric: GateMetric
    threshold: float
    action: Literal["warn", "fail", "mitigate"] = "warn"


def default_gates() -> list[GateConfig]:
    """The gates used when `audit.gates` is absent: both only warn."""
    return [
        GateConfig(name="label_rate_gap", metric="max_label_rate_gap", threshold=0.1),
        GateConfig(name="filter_impact", metric="max_filter_impact_ratio", threshold=2.0),
    ]


DEFAULT_TEMPLATES: dict[str, list[str]] = {
    "en": [
        "{term} feels happy.",
        "{term} feels sad.",
        "{term} made me feel angry.",
        "I talked to {term} yesterday.",
        "{term} is a great person.",
        "The conversation with {term} was irritating.",
    ],
    "zh": ["{term}很开心。", "{term}很难过。", "我昨天和{term}聊天了。", "{term}是一个很好的人。", "和{term}的谈话让人生气。"],
}


class ModelAuditConfig(BaseModel):
    """Model-audit settings (YAML `audit.model`)."""

    model_config = ConfigDict(extra="forbid")
    bootstrap: int = Field(200, ge=0)
    seed: int = 0
    min_group_size: int = Field(20, ge=1)
    positive_label: str | None = None  # None: the larger label of a binary task
    max_subgroup_auc_gap: float | None = 0.1
    max_counterfactual_gap: float | None = 0.1
    # summarizers: largest share of documents whose selected sentences change when identity terms are swapped
    max_selection_change_rate: float | None = 0.1
    templates: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    # extra probe phrases: language -> axis -> group -> phrases (merged over the built-in ones)
    probe_terms: dict[str, dict[str, dict[str, list[str]]]] = Field(default_factory=dict)
    # minimal-pair probes scored by a classifier: `crows_pairs` (path of the CSV) and/or `winobias`
    # (folder of the bracketed files), e.g. ../shared/data/crows_pairs/crows_pairs_anonymized.csv
    pair_probes: dict[Literal["crows_pairs", "winobias"], str] = Field(default_factory=dict)
    # languages whose templates probe the model: null = those with >= min_language_share of the
    # corpus's documents (detected by script, see tasks/audit/probe_gate.py)
    probe_languages: list[str] | None = None
    min_language_share: float = Field(0.05, ge=0.0, le=1.0)


class AuditConfig(BaseModel):
    """Corpus and model audit settings (YAML `audit:`)."""

    model_config = ConfigDict(extra="forbid")
    axes: list[str] = Field(default_factory=lambda: list(ALL_AXES))
    languages: list[Literal["en", "zh"]] = Field(default_factory=lambda: ["en", "zh"])
    lexicon: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    counterfactual_pairs: list[tuple[str, str]] = Field(default_factory=list)
    replace_lexicon: bool = False
    metadata_groups: dict[str, str] = Field(default_factory=dict)  # column -> axis
    text_column: str = "text"
    label_column: str = "label"
    id_column: str = "id"
    min_group_docs: int = Field(20, ge=1)
    npmi_top_k: int = Field(10, ge=1)
    npmi_min_count: int = Field(5, ge=1)
    npmi_vocab_size: int = Field(5000, ge=10)
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    gates: list[GateConfig] = Field(default_factory=default_gates)
    mitigation: Literal["none", "reweight", "counterfactual"] = "none"
    mitigate_always: bool = False
    model: ModelAuditConfig = Field(default_factory=ModelAuditConfig)
