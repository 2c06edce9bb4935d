"""Recall and precision per PII type of the `pii` clean step on the labelled fixture (not a test).

    .venv/bin/python bench/pii.py                       # all types the step knows, this checkout's code
    .venv/bin/python bench/pii.py --show                # also list misses and false positives
    .venv/bin/python bench/pii.py --code /work/main     # another checkout's `tasks.clean.pii`

The fixture is tests/fixtures/pii_cases.jsonl (231 hand-written cases: 155 PII items of 8 types and
88 hard negatives; see tests/fixtures/make_pii_cases.py). Scoring: tasks/clean/pii_eval.py.
"""
from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import importlib
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "pii_cases.jsonl"


def redactor(code: Path):
    """The `redact` of `code`'s tasks.clean.pii with every type its config allows (default order first), as list[str] -> list[str]."""
    sys.path.insert(0, str(code))
    import pyarrow as pa

    pii = importlib.import_module("tasks.clean.pii")
    config = importlib.import_module("tasks.clean.config")
    known = config.PiiParams.model_fields["types"].annotation.__args__[0].__args__
    default = list(config.PiiParams().types)
    types = default + [k for k in known if k not in default]  # the default order first (it matters)

    def run(texts: list[str]) -> list[str]:
        out, _ = pii.redact(pa.array(texts, pa.string()), types)
        return out.to_pylist()

    return run, types


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--show", action="store_true", help="list misses and false positives")
    args = parser.parse_args()
    run, types = redactor(args.code.resolve())
    spec = importlib.util.spec_from_file_location("pii_eval", ROOT / "tasks" / "clean" / "pii_eval.py")
    pii_eval = importlib.util.module_from_spec(spec)
    sys.modules["pii_eval"] = pii_eval  # dataclasses look their module up by name
    spec.loader.exec_module(pii_eval)
    load_cases, score_cases, table = pii_eval.load_cases, pii_eval.score_cases, pii_eval.table
    report = score_cases(load_cases(args.fixture), run)
    print(f"code: {args.code.resolve()}  types: {', '.join(types)}")
    print(table(report))
    if args.show:
        for kind, value in report.misses:
            print(f"miss  {kind:8s} {value!r}")
        for kind, value in report.false_positives:
            print(f"false {kind:8s} {value!r}")


if __name__ == "__main__":
    main()
