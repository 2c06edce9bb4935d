"""Measurement (not a test): the audit's mitigations on a shipped pipeline, end to end.

For each variant (`none`, `counterfactual`, `reweight`) the pipeline's block is copied from
pipelines.yaml unchanged except `audit: {mitigation: <variant>, mitigate_always: true}` (plus the
optional extra swap pairs), written to `<root>/<variant>.yaml`, and run with
`corpusmill run <pipeline> --config <root>/<variant>.yaml --workspace <root>/<variant>` (a fresh
workspace each, so nothing is shared between variants). The test split is the same for every
variant: the mitigations touch the train split only. Then it prints one Markdown row per variant
from `data/<pipeline>/evaluate/<model>/report.json`: test accuracy, the baseline's, the largest
counterfactual probe gap with its bootstrap interval and verdict, the gate's decision, wall time.

    OMP_NUM_THREADS=1 nice -n 10 python -m bench.mitigation --root /tmp/mit sst2 none counterfactual reweight
    # built-in (gender) pairs only, without the pairs the shipped sst2 block names:
    OMP_NUM_THREADS=1 nice -n 10 python -m bench.mitigation --root /tmp/mit --drop-pairs --label=-builtin sst2 counterfactual

Run from the repository root (the pipelines' `../shared/data` paths are relative to it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

VARIANTS = ("none", "counterfactual", "reweight")


def variant_config(data: dict, pipeline: str, mitigation: str, pairs: list[list[str]] | None = None, drop_pairs: bool = False) -> dict:
    """pipelines.yaml data -> a config holding only `pipeline`, whose `audit` applies `mitigation`
    to every run (`mitigate_always`), with `pairs` added to the counterfactual swap pairs (after
    removing the block's own pairs when `drop_pairs`: the built-in pairs only)."""
    block = json.loads(json.dumps(data["pipelines"][pipeline]))  # deep copy
    audit = dict(block.get("audit") or {})
    audit.update({"mitigation": mitigation, "mitigate_always": mitigation != "none"})
    if drop_pairs:
        audit.pop("counterfactual_pairs", None)
    if pairs:
        audit["counterfactual_pairs"] = [*audit.get("counterfactual_pairs", []), *pairs]
    block["audit"] = audit
    return {"runner": data.get("runner", {}), "pipelines": {pipeline: block}}


def read_outcome(workspace: Path, pipeline: str) -> dict:
    """The first classifier's evaluation of `pipeline` in `workspace`: metrics, probe, gate, and
    the mitigation headline when one ran."""
    evaluate = workspace / "data" / pipeline / "evaluate"
    report_path = next(p for p in sorted(evaluate.glob("*/report.json")))
    report = json.loads(report_path.read_text())
    mitigated = workspace / "data" / pipeline / "tokens" / "audit_mitigated.md"  # title, blank, headline
    headline = mitigated.read_text(encoding="utf-8").splitlines()[2] if mitigated.is_file() else None
    return {"model": report_path.parent.name, "report": report, "mitigation_headline": headline}


def axis_text(axis: dict) -> str:
    """`0.329 [0.223, 0.411] en/nationality (indian > american)` for one probe axis record."""
    interval = f" [{axis['ci_low']:.3f}, {axis['ci_high']:.3f}]" if axis.get("ci_low") is not None else ""
    return f"{axis['mean_gap']:.3f}{interval} {axis['language']}/{axis['axis']} ({axis['high_group']} > {axis['low_group']})"


def row(variant: str, outcome: dict, wall: float, limit: float) -> str:
    """One Markdown table row: variant, accuracy, baseline, largest gap, failing axes, gate, wall."""
    report = outcome["report"]
    metrics = report["metrics"]
    axes = sorted(report["probe"]["axes"], key=lambda a: a["mean_gap"], reverse=True)
    failing = [a for a in axes if a.get("ci_low") is not None and a["ci_low"] > limit]
    gate = "champion" if report["fairness_passed"] else "challenger"
    return (
        f"| {variant} | {metrics.get('accuracy', float('nan')):.4f} | "
        f"{metrics.get('baseline_accuracy', float('nan')):.4f} | {axis_text(axes[0])} | "
        f"{', '.join(a['axis'] for a in failing) or '-'} | {gate} | {wall:.0f} s |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the variants one after the other; print the table (and a JSON line per variant)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pipeline")
    parser.add_argument("variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--root", required=True, help="folder for the configs and one workspace per variant")
    parser.add_argument("--config", default="pipelines.yaml")
    parser.add_argument("--pairs", default="", help="extra swap pairs, e.g. 'american:indian,christian:muslim'")
    parser.add_argument("--drop-pairs", action="store_true", help="ignore the pipeline's own counterfactual_pairs")
    parser.add_argument("--label", default="", help="suffix of the variants' folder names")
    args = parser.parse_args(argv)
    data = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    pairs = [p.split(":") for p in args.pairs.split(",") if p]
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    limit = (data["pipelines"][args.pipeline].get("audit") or {}).get("model", {}).get("max_counterfactual_gap", 0.1)
    rows = []
    for variant in args.variants:
        name = variant + args.label
        config = root / f"{name}.yaml"
        config.write_text(yaml.safe_dump(variant_config(data, args.pipeline, variant, pairs, args.drop_pairs), sort_keys=False))
        started = time.time()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from corpusmill.cli import main; sys.exit(main())",
                "run",
                args.pipeline,
                "--config",
                str(config),
                "--workspace",
                str(root / name),
            ],
            check=False,
        )
        wall = time.time() - started
        if done.returncode != 0:
            print(f"{name}: corpusmill run exited {done.returncode}", file=sys.stderr)
            continue
        outcome = read_outcome(root / name, args.pipeline)
        print(
            json.dumps(
                {
                    "variant": name,
                    "wall_s": round(wall, 1),
                    "metrics": outcome["report"]["metrics"],
                    "reason": outcome["report"]["fairness_reason"],
                    "mitigation": outcome["mitigation_headline"],
                    "axes": outcome["report"]["probe"]["axes"],
                }
            )
        )
        rows.append(row(name, outcome, wall, limit))
    print("| mitigation | test accuracy | TF-IDF + LR | largest probe gap [95 % CI] | failing axes | alias | wall |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
