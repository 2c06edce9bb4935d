"""Recall and precision per PII type of the `pii` clean step on the labelled fixture (not a test).

    .venv/bin/python bench/pii.py                       # all types the step knows, this checkout's code
    .venv/bin/python bench/pii.py --show                # also list misses and false positives
    .venv/bin/python bench/pii.py --code ../other-checkout   # another checkout's `tasks.clean.pii`
    .venv/bin/python bench/pii.py --throughput 20000    # docs/s of the step on real text (2 % with PII)

The fixture is tests/fixtures/pii_cases.jsonl (231 hand-written cases: 155 PII items of 8 types and
88 hard negatives; see tests/fixtures/make_pii_cases.py). Scoring: tasks/clean/pii_eval.py.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "pii_cases.jsonl"


def redactor(code: Path, only: list[str] | None = None):
    """The `redact` of `code`'s tasks.clean.pii with every type its config allows (default order first), as list[str] -> list[str]."""
    sys.path.insert(0, str(code))
    import pyarrow as pa

    pii = importlib.import_module("tasks.clean.pii")
    params = getattr(pii, "PiiParams", None) or importlib.import_module("tasks.clean.config").PiiParams  # older checkouts: config
    known = params.model_fields["types"].annotation.__args__[0].__args__
    default = list(params().types)
    types = default + [k for k in known if k not in default]  # the default order first (it matters)
    types = [k for k in types if only is None or k in only]

    def run(texts: list[str]) -> list[str]:
        out, _ = pii.redact(pa.array(texts, pa.string()), types)
        return out.to_pylist()

    return run, types


def throughput(run, docs: int) -> str:
    """docs/s (CPU) of `run` over `docs` documents of sampled real sentences (bench/clean.py's pools), 2 % of them
    ending with a planted e-mail, phone, name or IBAN line."""
    import random
    import time

    spec = importlib.util.spec_from_file_location("bench_clean", ROOT / "bench" / "clean.py")
    bench_clean = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_clean)
    pools = bench_clean.sentence_pools()
    rng = random.Random(0)
    planted = [
        "Contact Mr. John Smith at +1 (415) 555-2671.",
        "Mail jane.doe@example.com today.",
        "IBAN DE89 3704 0044 0532 0130 00, ref 2291.",
        "Call (020) 7946-0958 or 06 12 34 56 78.",
    ]
    texts = []
    for i in range(docs):
        pool = pools[rng.randrange(len(pools))]
        text = " ".join(rng.choices(pool, k=rng.randint(3, 14)))
        texts.append(text + " " + planted[i % len(planted)] if rng.random() < 0.02 else text)
    start = time.process_time()
    run(texts)
    seconds = time.process_time() - start
    mb = sum(len(t.encode()) for t in texts) / 2**20
    return f"{docs} docs ({mb:.1f} MB): {seconds:.1f} CPU s, {docs / seconds:,.0f} docs/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--show", action="store_true", help="list misses and false positives")
    parser.add_argument("--types", help="comma-separated types to run (default: all the step knows)")
    parser.add_argument("--throughput", type=int, metavar="DOCS", help="time the step on DOCS real documents instead")
    args = parser.parse_args()
    run, types = redactor(args.code.resolve(), args.types.split(",") if args.types else None)
    if args.throughput:
        print(f"code: {args.code.resolve()}  types: {', '.join(types)}  {throughput(run, args.throughput)}")
        return
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
