"""The evaluate stage scores the minimal-pair probe sets named in `audit.model.pair_probes`."""

from __future__ import annotations

import numpy as np

from tasks.audit.config import AuditConfig
from tasks.evaluate.classifier import run_pair_probes

CSV = (
    ",sent_more,sent_less,stereo_antistereo,bias_type\n"
    "0,The poor are lazy.,The rich are lazy.,stereo,socioeconomic\n"
    "1,She is bad at math.,He is bad at math.,stereo,gender\n"
)


def test_configured_crows_pairs_are_scored_per_bias_type(tmp_path):
    path = tmp_path / "crows.csv"
    path.write_text(CSV)
    cfg = AuditConfig.model_validate({"model": {"pair_probes": {"crows_pairs": str(path)}, "bootstrap": 0}})

    def positive_if_rich(texts: list[str]) -> np.ndarray:
        return np.array([0.9 if "rich" in t else 0.4 for t in texts])

    reports = run_pair_probes(positive_if_rich, cfg)
    records = {r["bias_type"]: r for r in reports["crows_pairs"]["records"]}
    assert records["socioeconomic"]["mean_gap"] == -0.5
    assert records["gender"]["mean_gap"] == 0.0


def test_no_pair_probes_by_default():
    assert run_pair_probes(lambda texts: np.zeros(len(texts)), AuditConfig()) == {}
