"""Prefect tasks of the tokenize stage: train the tokenizer, split by id hash, encode shard by shard."""

from __future__ import annotations

from collections.abc import Iterator

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import task
from prefect.cache_policies import NONE
from tokenizers import Tokenizer

from tasks.common.retry import storage_task_options
from tasks.audit.config import AuditConfig
from tasks.audit.corpus import AuditCounts, count_shard, merge_counts
from tasks.audit.corpus_report import AuditReport, build_report
from tasks.audit.mitigated import (
    MITIGATED_JSON,
    MITIGATED_MD,
    audit_columns,
    mitigated_markdown,
    mitigation_headline,
    train_counterfactuals,
    train_rows,
    train_weights,
)
from tasks.common.dataset import DatasetHandle, PartResult, iter_part_batches, read_part
from tasks.tokenize.config import SplitConfig, TokenizeConfig
from tasks.tokenize.encode import encode_table
from tasks.tokenize.split import split_table
from tasks.tokenize.trainer import train_tokenizer

TOKENIZER_FILE = "tokenizer.json"
SPLITS_FILE = "splits.parquet"
WEIGHTS_FILE = "weights.parquet"


def work_part_uri(out_uri: str, key: str, name: str) -> str:
    """URI of a part written by run `key` that is not yet committed (in the work area)."""
    return f"{out_uri}/_work/{key}/{name}"


def _part_columns(uri: str) -> list[str]:
    fs, path = fsspec.core.url_to_fs(uri)
    with fs.open(path, "rb") as handle:
        return pq.read_schema(handle).names


def _texts(part_uris: list[str], batch_rows: int) -> Iterator[list[str]]:
    for uri in part_uris:
        for batch in iter_part_batches(uri, ["text"], batch_rows):
            yield [t or "" for t in batch.column(0).to_pylist()]


@task(name="train-tokenizer", cache_policy=NONE)
def train_tokenizer_task(part_uris: list[str], cfg: TokenizeConfig, out_uri: str, key: str) -> str:
    """Train the tokenizer on the clean text streamed from the parts (unsupervised, all splits);
    save `tokenizer.json` in the tokens work area; return its path."""
    out = DatasetHandle(out_uri)
    path = out.work_file(key, TOKENIZER_FILE)
    if not out.fs.exists(path):
        tokenizer = train_tokenizer(_texts(part_uris, 8192), cfg)
        out.write_atomic_bytes(path, tokenizer.to_str().encode("utf-8"))
    return path


@task(name="split-by-id-hash", cache_policy=NONE)
def split_task(part_uris: list[str], cfg: SplitConfig, out_uri: str, key: str) -> str:
    """Assign train/validation/test over the whole corpus (id + stratum columns only); return the file's URI."""
    out = DatasetHandle(out_uri)
    if out.finished_part(key, SPLITS_FILE) is None:
        columns = ["id"] + ([cfg.stratify_column] if cfg.stratify_column else [])
        id_label = pa.concat_tables([read_part(uri, columns) for uri in part_uris])
        out.write_part(key, SPLITS_FILE, [split_table(id_label, cfg)])
    return work_part_uri(out_uri, key, SPLITS_FILE)


@task(name="mitigation-weights", cache_policy=NONE)
def mitigation_weights_task(part_uris: list[str], splits_uri: str, cfg: AuditConfig, out_uri: str, key: str) -> str:
    """Reweighting instance weights fitted on the train split of the whole clean corpus (columns
    id, text, label and metadata groups only); write `id, weight` to the work area; return its URI."""
    out = DatasetHandle(out_uri)
    if out.finished_part(key, WEIGHTS_FILE) is None:
        columns = audit_columns(cfg, _part_columns(part_uris[0])) if part_uris else None
        corpus = pa.concat_tables([read_part(uri, columns) for uri in part_uris])
        corpus = corpus.join(read_part(splits_uri), "id", join_type="left outer")
        out.write_part(key, WEIGHTS_FILE, [train_weights(corpus, cfg)])
    return work_part_uri(out_uri, key, WEIGHTS_FILE)


@task(name="encode-shard", cache_policy=NONE, **storage_task_options())
def encode_shard_task(
    in_uri: str,
    tokenizer_path: str,
    splits_uri: str,
    cfg: TokenizeConfig,
    out_uri: str,
    key: str,
    part: str,
    weights_uri: str | None = None,
    counterfactual: AuditConfig | None = None,
) -> PartResult:
    """One clean part -> the same rows plus `split`, `input_ids` (list<int32>), `length` and `weight`.

    With `weights_uri` (`id, weight`), rows take those weights (1 where absent); with
    `counterfactual` (the audit config: lexicon and pairs), term-swapped copies `<id>#cf` of the
    part's train rows are appended (split train, weight 1); counter `counterfactual_rows`."""
    out = DatasetHandle(out_uri)
    done = out.finished_part(key, part)
    if done is not None:
        return done
    with out.fs.open(tokenizer_path, "r", encoding="utf-8") as handle:
        tokenizer = Tokenizer.from_str(handle.read())
    table = read_part(in_uri)
    splits = read_part(splits_uri)
    table = table.join(splits, "id", join_type="left outer").sort_by("id")
    counters: dict = {}
    if counterfactual is not None:
        copies = train_counterfactuals(table, counterfactual)
        table = pa.concat_tables([table, copies])
        counters["counterfactual_rows"] = copies.num_rows
    if weights_uri is not None:
        table = table.join(read_part(weights_uri), "id", join_type="left outer").sort_by("id")
        table = table.set_column(table.schema.get_field_index("weight"), "weight", pc.fill_null(table["weight"], 1.0).cast(pa.float32()))
    else:
        table = table.append_column("weight", pa.array([1.0] * table.num_rows, pa.float32()))
    encoded = encode_table(table, tokenizer, cfg)
    counts = {
        **counters,
        "rows": encoded.num_rows,
        "tokens": int(pc.sum(encoded["length"]).as_py() or 0),
        "splits": {row["values"]: row["counts"] for row in pc.value_counts(encoded["split"]).to_pylist()},
    }
    return out.write_part(key, part, [encoded], counters=counts)


@task(name="audit-tokens-shard", cache_policy=NONE, **storage_task_options())
def audit_tokens_shard_task(uri: str, cfg: AuditConfig, weighted: bool) -> AuditCounts:
    """Audit counts of the train rows of one tokens part; with `weighted`, label counts are sums of
    the `weight` column (what a weighted loss sees)."""
    columns = audit_columns(cfg, _part_columns(uri)) + ["split"] + (["weight"] if weighted else [])
    train = train_rows(read_part(uri, columns))
    weights = train["weight"].to_numpy() if weighted else None
    return count_shard(train, cfg, weights=weights)


@task(name="write-mitigated-audit", cache_policy=NONE)
def write_mitigated_audit_task(counts: list[AuditCounts], before_uri: str, cfg: AuditConfig, mitigation: str, out_uri: str, key: str) -> tuple[str, list[str]]:
    """Build the audit of the mitigated train split, write `audit_mitigated.json` / `.md` into the
    tokens work area; the clean corpus' `report.json` is read from `before_uri` (the audit dataset).
    Returns (headline before -> after, extra file names)."""
    out = DatasetHandle(out_uri)
    before_handle = DatasetHandle(before_uri)
    with before_handle.fs.open(before_handle.join("report.json"), "r", encoding="utf-8") as handle:
        before = AuditReport.model_validate_json(handle.read())
    after = build_report(merge_counts(counts, cfg.npmi_vocab_size), None, cfg)
    out.write_atomic_bytes(out.work_file(key, MITIGATED_JSON), after.model_dump_json(indent=2).encode("utf-8"))
    out.write_atomic_bytes(out.work_file(key, MITIGATED_MD), mitigated_markdown(before, after, mitigation, cfg).encode("utf-8"))
    return mitigation_headline(before, after, mitigation, cfg), [MITIGATED_JSON, MITIGATED_MD]
