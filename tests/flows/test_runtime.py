"""A run's config is one snapshot, parsed once per process and checked against its sha256 name."""

from __future__ import annotations

import pytest

from flows.runtime import RunContext, _parse_snapshot, is_snapshot, snapshot_config
from tasks.common.errors import IntegrityError
from tests.flows.tiny_config import write_tiny_config


def test_every_flow_of_a_run_reads_one_parse_of_the_snapshot(tmp_path):
    config = write_tiny_config(tmp_path)
    snapshot, _ = snapshot_config(str(config), tmp_path / "ws")
    assert is_snapshot(snapshot) and not is_snapshot(str(config))
    _parse_snapshot.cache_clear()
    contexts = [RunContext.load(snapshot, name, str(tmp_path / "ws")) for name in ("demo-reviews", "demo-news", "demo-shop")]
    contexts.append(RunContext.load(snapshot, "demo-reviews", str(tmp_path / "ws")))
    assert _parse_snapshot.cache_info().misses == 1, "parsed once for the four flows"
    first, again = contexts[0], contexts[3]
    assert first.pipeline == again.pipeline and first.pipeline is not again.pipeline
    first.pipeline.models["sentiment"].hidden_size = 999  # a flow changing its copy changes no other flow's
    assert again.pipeline.models["sentiment"].hidden_size == 32


def test_a_changed_snapshot_is_refused_naming_the_file(tmp_path):
    config = write_tiny_config(tmp_path)
    snapshot, _ = snapshot_config(str(config), tmp_path / "ws")
    with open(snapshot, "a", encoding="utf-8") as handle:
        handle.write("\n# edited after the run started\n")
    with pytest.raises(IntegrityError, match=r"config-[0-9a-f]{16}\.yaml: content does not match"):
        RunContext.load(snapshot, "demo-reviews", str(tmp_path / "ws"))
