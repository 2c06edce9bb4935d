"""Prefect tasks of the tokenize stage: train the tokenizer, split by id hash, encode shard by shard."""
from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from prefect import task
from prefect.cache_policies import NONE
from tokenizers import Tokenizer

from tasks.common.dataset import DatasetHandle, PartResult, iter_part_batches, read_part
from tasks.tokenize.config import SplitConfig, TokenizeConfig
from tasks.tokenize.encode import encode_table
from tasks.tokenize.split import split_table
from tasks.tokenize.trainer import train_tokenizer

TOKENIZER_FILE = "tokenizer.json"
SPLITS_FILE = "splits.parquet"


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
    return f"{out_uri}/_work/{key}/{SPLITS_FILE}"


@task(name="encode-shard", cache_policy=NONE)
def encode_shard_task(in_uri: str, tokenizer_path: str, splits_uri: str, cfg: TokenizeConfig,
                      out_uri: str, key: str, part: str, weights_uri: str | None = None) -> PartResult:
    """One clean part -> the same rows plus `split`, `input_ids` (list<int32>), `length` and `weight`."""
    out = DatasetHandle(out_uri)
    done = out.finished_part(key, part)
    if done is not None:
        return done
    with out.fs.open(tokenizer_path, "r", encoding="utf-8") as handle:
        tokenizer = Tokenizer.from_str(handle.read())
    table = read_part(in_uri)
    splits = read_part(splits_uri)
    table = table.join(splits, "id", join_type="left outer").sort_by("id")
    if weights_uri is not None:
        table = table.join(read_part(weights_uri), "id", join_type="left outer")
        table = table.set_column(table.schema.get_field_index("weight"), "weight",
                                 pc.fill_null(table["weight"], 1.0).cast(pa.float32()))
    else:
        table = table.append_column("weight", pa.array([1.0] * table.num_rows, pa.float32()))
    encoded = encode_table(table, tokenizer, cfg)
    counts = {"rows": encoded.num_rows, "tokens": int(pc.sum(encoded["length"]).as_py() or 0),
              "splits": {row["values"]: row["counts"] for row in pc.value_counts(encoded["split"]).to_pylist()}}
    return out.write_part(key, part, [encoded], counters=counts)
