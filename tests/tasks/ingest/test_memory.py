"""Bounded memory: streaming a ~200 MB JSON-lines file grows peak RSS by far less than the file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import resource, sys
    from tasks.ingest.config import IngestConfig, SourceConfig
    from tasks.ingest.readers import plan_shards, read_shard

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    source = SourceConfig(uri=sys.argv[1], format="jsonl", label_column="label", columns=["n"])
    cfg = IngestConfig()
    warm = SourceConfig(uri=sys.argv[2], format="jsonl", label_column="label", columns=["n"])
    for shard in plan_shards(warm, cfg):
        for batch in read_shard(shard, warm, cfg):
            pass
    base = peak_mb()
    rows = 0
    shards = plan_shards(source, cfg)
    for shard in shards:
        for batch in read_shard(shard, source, cfg):
            rows += batch.num_rows
    print(rows, len(shards), round(peak_mb() - base, 1))
""")


def test_peak_rss_growth_is_bounded_by_the_batch_not_the_file(tmp_path):
    line_template = {"text": "lorem ipsum dolor sit amet " * 36, "label": "x", "n": 0}
    rows = 200_000  # ~1 KiB per line -> ~200 MB
    big, small = tmp_path / "big.jsonl", tmp_path / "small.jsonl"
    with big.open("w") as f:
        for i in range(rows):
            line_template["n"] = i
            f.write(json.dumps(line_template) + "\n")
    small.write_text("".join(json.dumps(dict(line_template, n=i)) + "\n" for i in range(20_000)))
    assert big.stat().st_size > 190e6
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(big), str(small)], capture_output=True, text=True, check=True)
    read_rows, shards, growth_mb = out.stdout.split()
    assert int(read_rows) == rows and int(shards) == 4  # 64 MiB shards
    assert float(growth_mb) < 200, f"peak RSS grew by {growth_mb} MB while reading a 200 MB file"
