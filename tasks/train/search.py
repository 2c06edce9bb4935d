"""Hyper-parameters chosen on validation only: a small seeded Optuna (TPE) search over model-config
knobs, each trial a nested MLflow run under the parent run, the best params logged on the parent.

The objective is the kind's validation metric (`cfg.train.monitor` or the kind's default) of the
best epoch as the project's own `train_model` selects it. The `test` split is dropped before any
trial starts (its examples are never touched), so no choice can depend on it. Optuna is an
optional extra: `pip install 'corpusmill[search]'`.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mlflow
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasks.common.errors import CorpusmillError
from tasks.common.tracking import flatten_params
from tasks.train.kind import ModelKind, Prepared
from tasks.train.run_log import run_logger
from tasks.train.trainer import train_model


class ParamSpec(BaseModel):
    """One searched knob: `float` / `int` in [low, high] (log scale with `log`), or `categorical`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _complete(self) -> ParamSpec:
        if self.type == "categorical" and not self.choices:
            raise ValueError("a categorical param needs `choices`")
        if self.type != "categorical" and (self.low is None or self.high is None or self.low > self.high):
            raise ValueError(f"a {self.type} param needs low <= high")
        return self


class SearchConfig(BaseModel):
    """`space` maps dotted model-config keys (`train.lr`, `dropout`, `hidden_size`, `train.epochs`)
    to their ranges; `seed` fixes the TPE sampler; the first `startup_trials` are random."""

    model_config = ConfigDict(extra="forbid")

    trials: int = Field(default=8, ge=1)
    seed: int = 0
    startup_trials: int = Field(default=4, ge=1)
    space: dict[str, ParamSpec] = Field(min_length=1)


# A small default space for `lstm_classifier` (the knobs that moved SST-2 validation accuracy).
CLASSIFIER_SPACE: dict[str, ParamSpec] = {
    "train.lr": ParamSpec(type="float", low=5e-4, high=5e-3, log=True),
    "dropout": ParamSpec(type="float", low=0.1, high=0.6),
    "hidden_size": ParamSpec(type="categorical", choices=[64, 128, 256]),
    "train.epochs": ParamSpec(type="int", low=3, high=10),
}


@dataclass
class TrialRecord:
    """One finished trial: its params, objective (validation metric) and nested MLflow run."""

    number: int
    params: dict[str, Any]
    value: float
    run_id: str


@dataclass
class SearchResult:
    """The search outcome: best params/value on validation, every trial, the parent run id and the
    best trial's trained model (best epoch's weights, on CPU), so it need not be retrained."""

    monitor: str
    mode: str
    best_params: dict[str, Any]
    best_value: float
    trials: list[TrialRecord]
    parent_run_id: str
    best_model: Any = None


def with_overrides(cfg: BaseModel, params: dict[str, Any]) -> BaseModel:
    """Model config + `{"train.lr": 1e-3, "dropout": 0.2}` -> a new validated config of the same class
    (unknown keys fail validation, naming the key)."""
    data = cfg.model_dump()
    for dotted, value in params.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise KeyError(f"{dotted}: {part!r} is not a section of {type(cfg).__name__}")
            node = node[part]
        node[leaf] = value
    return type(cfg).model_validate(data)


def without_test(prepared: Prepared) -> Prepared:
    """The same examples without the `test` split (its list is not read, only left out)."""
    return Prepared(splits={k: v for k, v in prepared.splits.items() if k != "test"}, meta=prepared.meta)


def _suggest(trial: Any, name: str, spec: ParamSpec) -> Any:
    if spec.type == "categorical":
        return trial.suggest_categorical(name, spec.choices)
    if spec.type == "int":
        return trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
    return trial.suggest_float(name, float(spec.low), float(spec.high), log=spec.log)


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise CorpusmillError("the hyper-parameter search needs Optuna: pip install 'corpusmill[search]'") from exc
    optuna.logging.set_verbosity(logging.WARNING)
    return optuna


def search(
    kind: ModelKind[Any], cfg: BaseModel, prepared: Prepared, vocab_size: int, out_dir: Path, config: SearchConfig, run_name: str = "search"
) -> SearchResult:
    """Run `config.trials` trainings of `kind` with params drawn by seeded TPE; return the best on
    validation.

    In: the base model config (its other fields stay), prepared examples (the `test` split is
    dropped first), the vocabulary size, a scratch folder (one sub-folder per trial, removed after
    it) and the search config. The parent is the active MLflow run, or a new run `run_name`. Each
    trial logs its params, per-epoch metrics and `objective` (= best `val_<monitor>`) in a nested
    run; the parent gets `best.<param>` params, `best_val_<monitor>` and `search.best_run_id`.
    Out: a `SearchResult` (with the best trial's model). A NaN validation metric counts as the worst value.
    """
    optuna = _optuna()
    tc = cfg.train  # every kind config has `train: TrainConfig`
    monitor, mode = tc.monitor or kind.monitor, tc.mode or kind.mode
    data = without_test(prepared)
    if not data.splits.get("validation"):
        raise ValueError("the search needs a non-empty validation split (the objective is measured there)")
    worst = -math.inf if mode == "max" else math.inf
    records: list[TrialRecord] = []
    kept: dict[str, Any] = {}
    sampler = optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=config.startup_trials)
    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize", sampler=sampler)
    own_parent = mlflow.active_run() is None
    parent = mlflow.start_run(run_name=run_name) if own_parent else mlflow.active_run()
    try:
        mlflow.log_params(
            {"search.trials": config.trials, "search.seed": config.seed, "search.sampler": "TPE", "search.objective": f"val_{monitor} ({mode})"}
            | {f"search.space.{k}": v.model_dump_json(exclude_none=True) for k, v in config.space.items()}
        )

        def objective(trial: Any) -> float:
            params = {name: _suggest(trial, name, spec) for name, spec in config.space.items()}
            trial_cfg = with_overrides(cfg, params)
            folder = Path(out_dir) / f"trial-{trial.number}"
            with mlflow.start_run(run_name=f"{run_name}-trial-{trial.number}", nested=True) as run:
                mlflow.log_params(flatten_params(trial_cfg.model_dump(mode="json")) | {"trial": trial.number})
                try:
                    result = train_model(kind, trial_cfg, data, vocab_size, folder, log_metrics=lambda metrics, step: mlflow.log_metrics(metrics, step=step))
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                value = float(result.best_metrics.get(monitor, math.nan))
                value = worst if math.isnan(value) else value
                mlflow.log_metrics({"objective": value, f"best_val_{monitor}": value, "best_epoch": float(result.best_epoch or 0)})
            better = not records or (value > max(r.value for r in records) if mode == "max" else value < min(r.value for r in records))
            if better:
                kept["model"] = result.model.cpu()
            records.append(TrialRecord(trial.number, params, value, run.info.run_id))
            run_logger().info("search trial %d: %s -> val_%s=%.4f", trial.number, params, monitor, value)
            return value

        study.optimize(objective, n_trials=config.trials)
        best = max(records, key=lambda r: r.value) if mode == "max" else min(records, key=lambda r: r.value)
        mlflow.log_params({f"best.{k}": v for k, v in best.params.items()})
        mlflow.log_metrics({f"best_val_{monitor}": best.value})
        mlflow.set_tag("search.best_run_id", best.run_id)
    finally:
        if own_parent:
            mlflow.end_run()
    return SearchResult(monitor, mode, best.params, best.value, records, parent.info.run_id, kept.get("model"))
