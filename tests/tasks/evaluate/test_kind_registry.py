"""The evaluate side of model kinds comes from one registry keyed by kind name."""

from __future__ import annotations

import pandas as pd

from tasks.evaluate.evaluator import KindEvaluator
from tasks.evaluate.kinds import EVALUATORS, evaluator_for
from tasks.train.kinds import KINDS


def test_every_trained_kind_has_an_evaluator_under_its_own_name():
    assert set(EVALUATORS) == set(KINDS)
    for name, evaluator in EVALUATORS.items():
        assert evaluator.kind == name and issubclass(evaluator, KindEvaluator)


def test_a_kind_without_an_entry_gets_the_default_evaluator():
    assert type(evaluator_for("lstm_transformer")) is KindEvaluator


def test_input_examples_take_the_form_each_pyfunc_takes():
    rows = pd.DataFrame(
        {"id": ["1", "2", "3", "4"], "text": ["a", "b", "c", "d"], "user_id": ["u", "u", "v", "u"], "item_id": ["i1", "i2", "i3", "i4"], "ts": [3, 1, 2, 2]}
    )
    assert evaluator_for("lstm_classifier").input_example(rows).to_dict("list") == {"text": ["a", "b", "c"]}
    assert list(evaluator_for("lstm_summarizer").input_example(rows).columns) == ["text"]
    recs = evaluator_for("lstm_recommender").input_example(rows[list(evaluator_for("lstm_recommender").input_columns)])
    assert recs.to_dict("list") == {"user_id": ["u", "v"], "history": [["i2", "i4", "i1"], ["i3"]]}


def test_the_types_evaluate_and_register_share_import_no_prefect():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; import tasks.train.record, tasks.evaluate.outcome, tasks.evaluate.kinds, tasks.register.gates; "
        "print(sorted(m for m in sys.modules if m == 'prefect' or m.endswith('prefect_tasks')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == "[]"
