"""MLflow models-from-code definition of every corpusmill model (this file is logged as the model).

MLflow stores this source file, the `tasks` package (as `code_paths`) and the bundle folder
(`model.safetensors`, `config.json`, `meta.json`, `tokenizer.json`) as the artifact `bundle`.
Loading runs this file, then `load_context` rebuilds the model from the bundle with
`tasks.train.bundle.load_predictor`: nothing is pickled or unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext


class CorpusmillModel(PythonModel):
    """Raw-input pyfunc: a DataFrame with `text` (classifier, summarizer) or `user_id`/`history`
    (recommender) -> the bundle Predictor's prediction DataFrame, one row per input row."""

    def __init__(self) -> None:
        self.predictor: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        """Rebuild the Predictor on the CPU from the `bundle` artifact folder."""
        from tasks.train.bundle import load_predictor  # found in the model's code/ folder

        self.predictor = load_predictor(Path(context.artifacts["bundle"]), device="cpu")

    def predict(self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Predictions for `model_input` (a DataFrame, or anything pandas can turn into one)."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.predictor.predict(frame.reset_index(drop=True))


mlflow.models.set_model(CorpusmillModel())
