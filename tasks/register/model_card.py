"""The model card: one Markdown page per registered version (artifact and MLflow description).

`render_model_card` is a pure function of a typed `CardInput`; the caller gathers the figures
(manifests, training params, test metrics, the corpus and model audit reports).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasks.evaluate.baselines import card_section

DEFAULT_INTENDED_USE = (
    "Batch scoring of text similar to the training corpus (same languages, domain and length), "
    "as one signal among others. Not for decisions about individual people without human review."
)
DEFAULT_LIMITATIONS = [
    "A small LSTM trained from scratch on one corpus: it inherits that corpus's topics, label noise and skews.",
    "Text far from the training distribution (other languages, domains or very long documents) is scored unreliably.",
    "Group metrics cover only the groups the identity lexicon and the test split contain; absent groups are unmeasured.",
]


class GateResult(BaseModel):
    """One audit gate as reported by the corpus or model audit."""

    model_config = ConfigDict(extra="allow")
    name: str
    metric: str = ""
    value: float | None = None
    threshold: float | None = None
    passed: bool
    action: str = "warn"
    message: str = Field(default="", description="the verdict in words (why it passed or failed)")


class CardInput(BaseModel):
    """Everything the model card shows; only the name and kind are required."""

    model_config = ConfigDict(extra="forbid")
    model_name: str
    version: str | None = None
    kind: str
    pipeline: str = ""
    description: str = ""
    dataset_manifest_hash: str = ""
    rows: dict[str, int] = Field(default_factory=dict, description="rows per split, e.g. train/validation/test")
    tokenizer: dict[str, Any] = Field(default_factory=dict, description="e.g. model, vocab_size, hash")
    training_params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict, description="overall test metrics")
    group_metrics: list[dict[str, Any]] = Field(default_factory=list, description="model-audit records per group")
    model_gates: list[GateResult] = Field(default_factory=list)
    corpus_audit_headline: str = ""
    corpus_gates: list[GateResult] = Field(default_factory=list)
    intended_use: str = DEFAULT_INTENDED_USE
    limitations: list[str] = Field(default_factory=lambda: list(DEFAULT_LIMITATIONS))
    dataset_uris: list[str] = Field(default_factory=list)
    input_manifest_hashes: dict[str, str] = Field(default_factory=dict, description="stage -> manifest content hash")
    code_version: str = ""
    code_version_covers: str = Field(default="", description="what the code-version hash covers, e.g. tasks/common+train")


def render_model_card(card: CardInput) -> str:
    """Markdown model card: overview, data, training, metrics (overall and per group), audits,
    intended use, limitations and lineage. Empty inputs render as "not recorded", never vanish."""
    title = f"{card.model_name} v{card.version}" if card.version else card.model_name
    parts = [f"# Model card: {title}", ""]
    if card.description:
        parts += [card.description, ""]
    code_label = f"code version ({card.code_version_covers})" if card.code_version_covers else "code version"
    parts += _section("Overview", _kv({"kind": card.kind, "pipeline": card.pipeline, "version": card.version, code_label: card.code_version}))
    data = {"dataset manifest hash": card.dataset_manifest_hash, **{f"rows ({k})": v for k, v in card.rows.items()}}
    parts += _section("Data", _kv(data))
    parts += _section("Tokenizer", _kv(card.tokenizer))
    parts += _section("Training parameters", _table([{"parameter": k, "value": v} for k, v in _flatten(card.training_params).items()]))
    parts += _section("Metrics", _kv({k: _num(v) for k, v in sorted(card.metrics.items())}))
    parts += card_section(card.metrics, card.kind)
    parts += _section("Metrics per group", _table(card.group_metrics))
    parts += _section("Model audit gates", _gates(card.model_gates))
    audit_lines = [card.corpus_audit_headline, ""] if card.corpus_audit_headline else []
    flagged = [g for g in card.corpus_gates if not g.passed]
    audit_lines += [f"Gates: {len(card.corpus_gates) - len(flagged)} passed, {len(flagged)} failed or warned."]
    if flagged:
        audit_lines += ["", *_gates(flagged), ""]
    parts += _section("Corpus audit", audit_lines if (card.corpus_audit_headline or card.corpus_gates) else [])
    parts += _section("Intended use", [card.intended_use])
    parts += _section("Limitations", [f"- {item}" for item in card.limitations])
    lineage = [f"- dataset: `{uri}`" for uri in card.dataset_uris]
    lineage += [f"- {stage} manifest: `{digest}`" for stage, digest in card.input_manifest_hashes.items()]
    if card.code_version:
        lineage.append(f"- {code_label}: `{card.code_version}`")
    parts += _section("Lineage", lineage)
    return "\n".join(parts).rstrip() + "\n"


def group_metric_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model-audit records (one per axis, group and metric, with a bootstrap interval) -> one row
    per group: `axis`, `group`, `n` and one column per metric, "value [low, high]"."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        row = rows.setdefault(
            (str(record.get("axis", "")), str(record.get("group", ""))),
            {"axis": record.get("axis", ""), "group": record.get("group", ""), "n": record.get("n", "")},
        )
        value, low, high = record.get("value"), record.get("ci_low"), record.get("ci_high")
        cell = "-" if value is None else f"{value:.3f}"
        if value is not None and low is not None and high is not None:
            cell += f" [{low:.3f}, {high:.3f}]"
        row[str(record.get("metric", "value"))] = cell
    return list(rows.values())


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _section(title: str, lines: list[str]) -> list[str]:
    """A `## title` block; tables and lists get a blank line before and after (Markdown renderers
    such as MLflow's description view need it to start a table)."""
    return [f"## {title}", "", *(lines or ["_not recorded_"]), ""]


def _kv(values: dict[str, Any]) -> list[str]:
    return [f"- **{key}**: {value}" for key, value in values.items() if value not in (None, "")]


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value).replace("|", "\\|").replace("\n", " ")


# MLflow's description view draws tables without cell padding (its sanitizer drops style
# attributes): two no-break spaces after each cell keep the columns apart.
CELL_PAD = "&nbsp;&nbsp;"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(f"{cell}{CELL_PAD}" for cell in cells) + " |"


def _table(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return []
    columns: list[str] = []
    for record in records:
        columns += [key for key in record if key not in columns]
    rows = [_row(columns), "|" + "---|" * len(columns)]
    rows += [_row([_num(r.get(c, "")) for c in columns]) for r in records]
    return rows


def _gates(gates: list[GateResult]) -> list[str]:
    if not gates:
        return []
    rows = [_row(["gate", "metric", "value", "threshold", "passed", "action", "verdict"]), "|---|---|---|---|---|---|---|"]
    rows += [_row([g.name, g.metric or "-", _num(g.value), _num(g.threshold), "yes" if g.passed else "NO", g.action, _num(g.message or "-")]) for g in gates]
    return rows


# MLflow keeps a version's / registered model's description in a varchar(5000) column (PostgreSQL
# enforces it; SQLite does not): the card is shortened for it, least needed sections first.
DESCRIPTION_LIMIT = 5000
OPTIONAL_SECTIONS = ("Training parameters", "Lineage", "Tokenizer", "Corpus audit", "Intended use", "Limitations", "Data")


def registry_description(card_md: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The model card as an MLflow description of at most `limit` characters: whole when it fits,
    else without the sections of `OPTIONAL_SECTIONS` (in that order, only as many as needed) and
    a closing line naming them and pointing at the full card, the run's `model_card.md`."""
    if len(card_md) <= limit:
        return card_md
    head, *sections = card_md.split("\n## ")
    titles = [section.split("\n", 1)[0].strip() for section in sections]
    dropped: list[str] = []

    def assemble() -> str:
        kept = [s for s, t in zip(sections, titles) if t not in dropped]
        note = (
            f"\n_Left out here (MLflow descriptions hold {limit:,} characters): {', '.join(dropped)}; the whole card is the run's artifact `model_card.md`._\n"
        )
        return "\n## ".join([head, *kept]).rstrip("\n") + "\n" + note

    for title in OPTIONAL_SECTIONS:
        if title in titles:
            dropped.append(title)
            text = assemble()
            if len(text) <= limit:
                return text
    text = assemble()
    return text if len(text) <= limit else text[: limit - 80].rsplit("\n", 1)[0] + "\n\n_(cut: see `model_card.md`)_\n"
