"""Remote and library sources: S3 through fsspec (moto server on 127.0.0.1), HF datasets, demo://."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pytest

from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.readers import IngestError, plan_shards


@pytest.fixture
def s3_options():
    """A moto S3 server on a free local port; yields the fsspec storage_options that reach it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {"key": "testing", "secret": "testing", "endpoint_url": f"http://{host}:{port}", "skip_instance_cache": True}
    server.stop()


def test_s3_glob_of_compressed_and_ranged_jsonl(s3_options, read_all):
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options)
    fs.mkdir("corpus")
    rows = [json.dumps({"text": f"remote {i}", "y": i % 2}) for i in range(40)]
    fs.pipe("corpus/x/part-0.jsonl.gz", gzip.compress("\n".join(rows[:20]).encode()))
    fs.pipe("corpus/x/part-1.jsonl", ("\n".join(rows[20:]) + "\n").encode())
    source = SourceConfig(uri="s3://corpus/x/*.jsonl*", format="jsonl", label_column="y", storage_options=s3_options)
    cfg = IngestConfig(shard_bytes=256, batch_rows=8)
    shards = plan_shards(source, cfg)
    assert shards[0].pieces[0].uri == "s3://corpus/x/part-0.jsonl.gz"
    assert len(shards) > 2  # the uncompressed file is cut into byte ranges
    table = read_all(source, cfg)
    assert table.column("text").to_pylist() == [f"remote {i}" for i in range(40)]
    assert table.column("label").to_pylist() == [str(i % 2) for i in range(40)]


def test_s3_missing_prefix_is_a_clear_error(s3_options):
    import s3fs

    s3fs.S3FileSystem(**s3_options).mkdir("empty")
    with pytest.raises(IngestError, match=r"s3://empty/none/\*\.jsonl: no files"):
        plan_shards(SourceConfig(uri="s3://empty/none/*.jsonl", format="jsonl", storage_options=s3_options), IngestConfig())


def test_hf_save_to_disk_folder(tmp_path, read_all):
    import datasets

    data = datasets.Dataset.from_dict({"sentence": [f"s{i}" for i in range(50)], "label": [i % 3 for i in range(50)]})
    datasets.DatasetDict({"train": data, "test": data.select(range(5))}).save_to_disk(str(tmp_path / "ds"))
    source = SourceConfig(uri=str(tmp_path / "ds"), format="hf", split="train", text_column="sentence", label_column="label")
    cfg = IngestConfig(shard_bytes=100, batch_rows=7)
    assert len(plan_shards(source, cfg)) > 1
    table = read_all(source, cfg)
    assert table.column("text").to_pylist() == [f"s{i}" for i in range(50)]
    assert table.column("label").to_pylist() == [str(i % 3) for i in range(50)]
    assert table.column("id").to_pylist() == read_all(source).column("id").to_pylist()
    with pytest.raises(IngestError, match=r"choose a split .*\['train', 'test'\]"):
        plan_shards(source.model_copy(update={"split": None}), cfg)


def test_hf_hub_id_offline_is_a_clear_error(read_all, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(IngestError, match=r"hf://someone/no-such-dataset: cannot stream .*offline"):
        read_all(SourceConfig(uri="someone/no-such-dataset", format="hf"))


@pytest.mark.parametrize(("name", "rows"), [("reviews", 120), ("news", 30), ("interactions", 200)])
def test_demo_sources_read_in_batches(name, rows, read_all):
    source = SourceConfig(uri=f"demo://{name}", format="demo", rows=rows, seed=3)
    cfg = IngestConfig(batch_rows=50)
    assert len(plan_shards(source, cfg)) == 1
    table = read_all(source, cfg)
    assert table.num_rows == rows
    assert table.column_names[:3] == ["id", "text", "label"] and table.column_names[-1] == "encoding_error"
    assert table.equals(read_all(source, cfg))  # deterministic for a seed
    assert table.schema.field("text").type == pa.string()


def test_demo_carries_the_listed_columns_only(read_all):
    source = SourceConfig(uri="demo://interactions", format="demo", label_column="label", columns=["user_id", "ts"], rows=30)
    assert read_all(source).column_names == ["id", "text", "label", "user_id", "ts", "encoding_error"]
    with pytest.raises(IngestError, match=r"demo://reviews: missing column.*'age'"):
        read_all(SourceConfig(uri="demo://reviews", format="demo", columns=["age"], rows=30))
