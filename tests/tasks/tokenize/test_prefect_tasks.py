"""The tokenize tasks called as plain functions (`.fn`) on tiny datasets written with `DatasetHandle`."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import count_shard
from tasks.audit.corpus_report import build_report
from tasks.common.dataset import DatasetHandle, read_part
from tasks.tokenize.config import SplitConfig, TokenizeConfig
from tasks.tokenize.prefect_tasks import (
    audit_tokens_shard_task,
    encode_shard_task,
    mitigation_weights_task,
    split_task,
    train_tokenizer_task,
    work_part_uri,
    write_mitigated_audit_task,
)

AUDIT = AuditConfig(axes=["gender"], min_group_docs=5)
TOKENIZE = TokenizeConfig(vocab_size=60, min_frequency=1)
KEY = "k1"


def skewed_corpus() -> pa.Table:
    """120 docs each about 'she', 'he' or neither; positive rates 0.8 / 0.3 / 0.5."""
    rows = []
    for prefix, sentence, rate in [("f", "She said the film was {}.", 0.8), ("m", "He said the film was {}.", 0.3), ("n", "The film was {}.", 0.5)]:
        for i in range(120):
            label = "pos" if i < round(120 * rate) else "neg"
            rows.append({"id": f"{prefix}{i:03d}", "text": sentence.format("fine" if label == "pos" else "dull"), "label": label})
    return pa.Table.from_pylist(rows)


@pytest.fixture
def clean(tmp_path) -> DatasetHandle:
    """The skewed corpus as a finished two-part dataset."""
    handle = DatasetHandle(str(tmp_path / "clean"))
    table = skewed_corpus()
    parts = [handle.write_part("c", f"part-{i}.parquet", [table.slice(i * 180, 180)]) for i in range(2)]
    handle.commit(stage="clean", key="c", parts=parts, inputs=[], config_hash="x", code_version="x", started=0.0)
    return handle


def _prepare(clean: DatasetHandle, out_uri: str) -> tuple[str, str]:
    parts = clean.part_uris()
    tokenizer = train_tokenizer_task.fn(parts, TOKENIZE, out_uri, KEY)
    splits = split_task.fn(parts, SplitConfig(validation=0.1, test=0.1), out_uri, KEY)
    return tokenizer, splits


def test_weights_are_fitted_on_train_rows_and_joined_by_encode(clean, tmp_path):
    out_uri = str(tmp_path / "tokens")
    tokenizer, splits = _prepare(clean, out_uri)
    weights_uri = mitigation_weights_task.fn(clean.part_uris(), splits, AUDIT, out_uri, KEY)
    weights = read_part(weights_uri)
    split_of = dict(zip(*read_part(splits).to_pydict().values()))
    assert weights.column_names == ["id", "weight"]
    assert {split_of[i] for i in weights["id"].to_pylist()} == {"train"}
    assert weights.num_rows == sum(1 for s in split_of.values() if s == "train")
    encoded = pa.concat_tables(
        [
            read_part(work_part_uri(out_uri, KEY, r.name))
            for r in (
                encode_shard_task.fn(uri, tokenizer, splits, TOKENIZE, out_uri, KEY, f"part-{i}.parquet", weights_uri)
                for i, uri in enumerate(clean.part_uris())
            )
        ]
    )
    assert encoded.num_rows == 360 and encoded.schema.field("weight").type == pa.float32()
    held_out = encoded.filter(pc.not_equal(encoded["split"], "train"))
    assert set(held_out["weight"].to_pylist()) == {1.0}
    train = encoded.filter(pc.equal(encoded["split"], "train"))
    w, labels = train["weight"].to_numpy(), np.asarray(train["label"].to_pylist())
    female = pc.starts_with(train["text"], "She").to_numpy(zero_copy_only=False)
    assert len(set(w[female].tolist())) == 2  # up-weighted negatives, down-weighted positives
    rate = float((w * (labels == "pos"))[female].sum() / w[female].sum())
    assert rate == pytest.approx(float(np.mean(labels == "pos")), abs=1e-5)


def test_counterfactual_copies_join_the_train_split_only(clean, tmp_path):
    out_uri = str(tmp_path / "tokens")
    tokenizer, splits = _prepare(clean, out_uri)
    result = encode_shard_task.fn(clean.part_uris()[0], tokenizer, splits, TOKENIZE, out_uri, KEY, "p.parquet", None, AUDIT)
    table = read_part(work_part_uri(out_uri, KEY, "p.parquet"))
    rows = {r["id"]: r for r in table.to_pylist()}
    copies = [r for i, r in rows.items() if i.endswith("#cf")]
    assert result.counters["counterfactual_rows"] == len(copies) > 0
    assert result.rows == table.num_rows == 180 + len(copies)
    assert {r["split"] for r in copies} == {"train"} and {r["weight"] for r in copies} == {1.0}
    for copy in copies:
        original = rows[copy["id"][:-3]]
        assert original["split"] == "train" and copy["label"] == original["label"]
        assert (
            copy["text"] == original["text"].replace("She", "He")
            if original["text"].startswith("She")
            else copy["text"] == original["text"].replace("He", "She")
        )
        assert copy["input_ids"] != original["input_ids"]
    held_out = [i for i, r in rows.items() if r["split"] != "train" and not i.endswith("#cf")]
    assert held_out and not any(f"{i}#cf" in rows for i in held_out)


def test_mitigated_audit_is_written_beside_the_tokens_with_a_before_after_headline(clean, tmp_path):
    out_uri = str(tmp_path / "tokens")
    audit = DatasetHandle(str(tmp_path / "audit"))
    before = build_report(count_shard(clean.read_table(), AUDIT), None, AUDIT)
    audit.write_atomic_bytes(audit.join("report.json"), before.model_dump_json().encode())
    tokenizer, splits = _prepare(clean, out_uri)
    weights_uri = mitigation_weights_task.fn(clean.part_uris(), splits, AUDIT, out_uri, KEY)
    names = [
        encode_shard_task.fn(uri, tokenizer, splits, TOKENIZE, out_uri, KEY, f"part-{i}.parquet", weights_uri).name for i, uri in enumerate(clean.part_uris())
    ]
    counts = [audit_tokens_shard_task.fn(work_part_uri(out_uri, KEY, n), AUDIT, True) for n in names]
    unweighted = [audit_tokens_shard_task.fn(work_part_uri(out_uri, KEY, n), AUDIT, False) for n in names]
    assert sum(c.total_docs for c in counts) == sum(c.total_docs for c in unweighted) < 360  # train rows only
    headline, files = write_mitigated_audit_task.fn(counts, audit.uri, AUDIT, "reweight", out_uri, KEY)
    assert files == ["audit_mitigated.json", "audit_mitigated.md"]
    assert headline.startswith("reweight: largest label-rate gap +0.400 (gender/female, label 'pos') -> +0.000")
    work = tmp_path / "tokens" / "_work" / KEY
    after = json.loads((work / "audit_mitigated.json").read_text())
    gaps = [abs(g["gap"]) for g in after["groups"] if g["gap"] is not None]
    assert gaps and max(gaps) < 1e-3
    assert headline in (work / "audit_mitigated.md").read_text()
