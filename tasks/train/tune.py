"""`corpusmill tune <pipeline> <model>`: the seeded search of `tasks.train.search` on a pipeline's
tokens dataset (written by `corpusmill run <pipeline>`), in the pipeline's MLflow experiment.

Rows of the `test` split are filtered out of the tokens table before the model kind prepares its
examples, so the held-out test set plays no part in any choice. The best params are printed as
the YAML overrides to put into `pipelines.yaml`; nothing is registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pyarrow.compute as pc
from pydantic import BaseModel
from tokenizers import Tokenizer

from tasks.common import storage
from tasks.common.dataset import DatasetHandle
from tasks.common.errors import CorpusmillError
from tasks.common.tracking import ensure_experiment
from tasks.train.kinds import get_kind
from tasks.train.search import CLASSIFIER_SPACE, ParamSpec, SearchConfig, SearchResult, search

DEFAULT_SPACES: dict[str, dict[str, ParamSpec]] = {"lstm_classifier": CLASSIFIER_SPACE}


def search_config(kind: str, trials: int, seed: int, space_json: str | None = None) -> SearchConfig:
    """Kind name + trials + seed (+ a JSON space `{"train.lr": {"type": "float", "low": ..}}`) ->
    SearchConfig; the kind's default space when no JSON is given (CorpusmillError if it has none)."""
    if space_json:
        space = {k: ParamSpec.model_validate(v) for k, v in json.loads(space_json).items()}
    elif kind in DEFAULT_SPACES:
        space = DEFAULT_SPACES[kind]
    else:
        raise CorpusmillError(f"no default search space for kind {kind!r}: pass --space '{{\"train.lr\": {{...}}}}'")
    return SearchConfig(trials=trials, seed=seed, startup_trials=max(1, min(trials // 2, 4)), space=space)


def resolve_pretrained_lm(model: BaseModel, model_dirs: dict[str, Path]) -> BaseModel:
    """A classifier whose `pretrained_lm` names a model of the pipeline -> the same config with that
    model's trained bundle folder (CorpusmillError when it has not been trained yet)."""
    ref = getattr(model, "pretrained_lm", None)
    if ref is None or ref not in model_dirs:
        return model
    bundle = model_dirs[ref] / "bundle"
    if not (bundle / "config.json").is_file():
        raise CorpusmillError(f"pretrained_lm {ref!r} has no trained bundle at {bundle}: run the pipeline first")
    return model.model_copy(update={"pretrained_lm": str(bundle)})


def tune_model(
    pipeline: str, model_name: str, model: BaseModel, tokens_uri: str, experiment: str, artifact_root: Path, out_dir: Path, config: SearchConfig
) -> SearchResult:
    """Search `config.space` for one model of a pipeline on its tokens dataset (train + validation
    rows only) -> SearchResult. Logs a parent run `<pipeline>-<model>-search` (tags `pipeline`,
    `model`, `search: true`) with one nested run per trial into `experiment`."""
    tokens = DatasetHandle(tokens_uri)
    if tokens.read_manifest() is None:
        raise CorpusmillError(f"no tokens dataset at {tokens_uri}: run `corpusmill run {pipeline} --stages ingest,clean,audit,tokenize` first")
    manifest = tokens.verified_manifest()
    tokenizer = Tokenizer.from_str(storage.read_text(storage.join(tokens.uri, "tokenizer.json")))
    table = tokens.read_table()
    table = table.filter(pc.not_equal(table["split"], "test"))
    kind = get_kind(model.kind)
    prepared = kind.prepare(table, tokenizer, model)
    mlflow.set_experiment(experiment_id=ensure_experiment(experiment, artifact_root))
    with mlflow.start_run(run_name=f"{pipeline}-{model_name}-search"):
        mlflow.set_tags({"pipeline": pipeline, "model": model_name, "kind": model.kind, "search": "true", "dataset.tokens_hash": manifest.content_hash})
        return search(kind, model, prepared, tokenizer.get_vocab_size(), out_dir, config, run_name=f"{model_name}-search")


def yaml_overrides(params: dict[str, Any]) -> str:
    """Best params `{"train.lr": 0.001, "dropout": 0.3}` -> the flow-style YAML keys to paste."""
    top = {k: v for k, v in params.items() if "." not in k}
    train = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("train.")}
    parts = [f"{k}: {json.dumps(v)}" for k, v in top.items()]
    if train:
        parts.append("train: {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in train.items()) + "}")
    return "\n".join(parts)
