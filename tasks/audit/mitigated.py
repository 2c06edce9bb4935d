"""Apply the audit's chosen mitigation to what the model sees, and re-audit it.

The audit stage only decides (`mitigation` in its manifest counters: `reweight`,
`counterfactual` or `none`); the tokenize stage applies it with these functions:

- `train_weights`: `id, weight` instance weights computed on the TRAIN split only, so the
  weighted label rates of every identity group equal the overall rate in the data the loss
  sees; validation and test rows keep weight 1 (they measure the model, not the corpus).
- `train_counterfactuals`: term-swapped copies (`<id>#cf`) of TRAIN rows only, so validation
  and test stay untouched.
- `largest_gap` / `mitigation_headline` / `mitigated_markdown`: compare the audit of the clean
  corpus with the audit recomputed on the mitigated train split.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tasks.audit.config import AuditConfig
from tasks.audit.corpus_report import AuditReport, GroupRecord
from tasks.audit.lexicon import Lexicon
from tasks.audit.mitigate import counterfactual_augment, reweight_weights
from tasks.audit.report import render_markdown

MITIGATED_JSON = "audit_mitigated.json"
MITIGATED_MD = "audit_mitigated.md"
TRAIN = "train"


def audit_columns(cfg: AuditConfig, available: list[str]) -> list[str]:
    """The columns the audit and the mitigations read (id, text, label, metadata-group columns),
    in that order, restricted to those present in `available`."""
    wanted = [cfg.id_column, cfg.text_column, cfg.label_column, *cfg.metadata_groups]
    return [c for c in dict.fromkeys(wanted) if c in available]


def train_rows(table: pa.Table, split_column: str = "split") -> pa.Table:
    """The rows whose `split_column` is `train`."""
    return table.filter(pc.equal(table[split_column], TRAIN))


def train_weights(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None, split_column: str = "split") -> pa.Table:
    """Rows with a `split` column -> table `id, weight` (float32) for the train rows only.

    Weights come from `reweight_weights` (Kamiran & Calders reweighing over group cells) fitted
    on the train rows, so the weighted label rates of the train split are equal across groups.
    Rows absent from the result (validation, test) are meant to weigh 1.
    """
    train = train_rows(table, split_column)
    return pa.table({"id": pc.cast(train[cfg.id_column], pa.string()), "weight": reweight_weights(train, cfg, lexicon)})


def train_counterfactuals(table: pa.Table, cfg: AuditConfig, lexicon: Lexicon | None = None, split_column: str = "split") -> pa.Table:
    """Rows with a `split` column -> only the term-swapped copies of its train rows.

    Copies have id `<id>#cf`, the swapped text and every other column (label, `split=train`)
    unchanged; rows without a pair term get no copy. Same schema as `table`.
    """
    train = train_rows(table, split_column)
    augmented = counterfactual_augment(train, cfg, lexicon)
    return augmented.slice(train.num_rows)


def largest_gap(report: AuditReport, cfg: AuditConfig) -> GroupRecord | None:
    """The group-label record with the largest |gap| to the rest among groups with at least
    `cfg.min_group_docs` documents (whether or not its interval excludes 0); None if none."""
    records = [r for r in report.groups if r.gap is not None and r.docs >= cfg.min_group_docs]
    return max(records, key=lambda r: (abs(r.gap), r.axis, r.group, r.label or "")) if records else None


def _gap_text(record: GroupRecord | None) -> str:
    if record is None:
        return "no gap"
    return f"{round(record.gap, 3) + 0.0:+.3f} ({record.axis}/{record.group}, label '{record.label}')"


def mitigation_headline(before: AuditReport, after: AuditReport, mitigation: str, cfg: AuditConfig) -> str:
    """One line for people: the mitigation and the largest label-rate gap before -> after."""
    return (
        f"{mitigation}: largest label-rate gap {_gap_text(largest_gap(before, cfg))} -> "
        f"{_gap_text(largest_gap(after, cfg))} on the train split ({after.total_docs} docs)"
    )


def mitigated_markdown(before: AuditReport, after: AuditReport, mitigation: str, cfg: AuditConfig) -> str:
    """Markdown of the recomputed audit, headed by the before -> after line and how it was made."""
    how = {
        "reweight": "label counts are sums of the instance weights the trainer uses",
        "counterfactual": "term-swapped copies (`#cf`) of train rows included",
    }.get(mitigation, "no mitigation")
    return (
        f"# Audit after mitigation: {mitigation}\n\n{mitigation_headline(before, after, mitigation, cfg)}\n\n"
        f"Recomputed on the tokens' train split ({how}). The audit of the clean corpus is "
        f"kept unchanged in the audit stage's report.\n\n" + render_markdown(after)
    )
