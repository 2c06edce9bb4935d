"""`pipelines.yaml`, parsed once into typed models and passed down; errors name the key path.

Each stage owns its section's model (`tasks/<stage>/config.py`); this module composes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from tasks.audit.config import AuditConfig
from tasks.clean.config import CleanConfig
from tasks.common.errors import ConfigError
from tasks.common.retry import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY_SECONDS
from tasks.evaluate.config import EvaluateConfig
from tasks.ingest.config import IngestConfig, SourceConfig
from tasks.ingest.interactions import InteractionsConfig
from tasks.register.config import RegisterConfig
from tasks.score.config import ApplicationsConfig
from tasks.tokenize.config import SplitConfig, TokenizeConfig
from tasks.train.kinds import ModelConfig, promotion_metric, reports_metric, test_metrics

DEFAULT_CONFIG = Path("pipelines.yaml")


class RunnerConfig(BaseModel):
    """How Prefect runs a stage's shard tasks: threads on this machine, or a Dask cluster; and how
    often a shard task that reads or writes storage is retried after a transient error
    (`tasks/common/retry.py`)."""

    model_config = ConfigDict(extra="forbid")

    task_runner: Literal["threads", "dask"] = "threads"
    max_workers: int = Field(default=2, gt=0)
    dask_address: str | None = Field(default=None, description="scheduler address; none starts a local cluster")
    retries: int = Field(
        default=DEFAULT_RETRIES, ge=0, le=20, description="retries of a storage shard task after a transient error (never a deterministic one)"
    )
    retry_delay_seconds: float | list[float] = Field(
        default=DEFAULT_RETRY_DELAY_SECONDS, description="seconds before each retry: one number, or one per retry (the last repeats)"
    )

    @field_validator("retry_delay_seconds")
    @classmethod
    def _delays(cls, value: float | list[float]) -> float | list[float]:
        delays = value if isinstance(value, list) else [value]
        if not delays or len(delays) > 50 or any(d < 0 for d in delays):
            raise ValueError("give a number of seconds >= 0, or a list of 1 to 50 of them")
        return value


class PipelineConfig(BaseModel):
    """One corpus and the models trained on it. Every section but `source` has defaults.

    `source` is one source; `sources` instead lists several read into one corpus (e.g. labelled
    sentences plus unlabelled text an `lstm_lm` pretrains on), which must carry the same
    `columns`. After validation `sources` always holds the list (one entry for `source`).
    The YAML key `register` is the attribute `registry` (pydantic reserves `register`).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = ""
    default: bool = True
    description: str = ""
    source: SourceConfig | None = None
    sources: list[SourceConfig] = Field(default_factory=list, description="several sources read into one corpus; or `source`")
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    interactions: InteractionsConfig | None = Field(default=None, description="the source holds user-item interactions (+ items source)")
    clean: CleanConfig = Field(default_factory=CleanConfig.default)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    tokenize: TokenizeConfig = Field(default_factory=TokenizeConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    models: dict[str, ModelConfig] = Field(default_factory=dict, description="none: a data-only pipeline (ingest, clean, audit; no model)")
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    registry: RegisterConfig = Field(default_factory=RegisterConfig, alias="register")
    applications: ApplicationsConfig = Field(default_factory=ApplicationsConfig)

    @property
    def data_only(self) -> bool:
        """True for a pipeline without models: it curates the corpus (ingest, clean, audit) and stops."""
        return not self.models

    def registered_name(self, model: str) -> str:
        """The MLflow registered-model name of one of this pipeline's models."""
        return f"{self.name}-{model}"

    @field_validator("source", mode="before")
    @classmethod
    def _one_source(cls, value: object) -> object:
        if isinstance(value, list):
            raise ValueError("`source` is one source; put a list of sources under `sources`")
        return value

    @model_validator(mode="after")
    def _one_list_of_sources(self) -> PipelineConfig:
        if (self.source is None) == (not self.sources):
            raise ValueError("give `source` (one source) or `sources` (a list of them), exactly one of the two")
        if self.source is not None:
            self.sources = [self.source]
        first = self.sources[0]
        for i, other in enumerate(self.sources[1:], start=1):
            if (other.columns, other.column_types) != (first.columns, first.column_types):
                raise ValueError(f"sources.{i}.columns/column_types must equal sources.0's (one corpus, one schema): {other.columns} vs {first.columns}")
            if other.errors != first.errors:
                raise ValueError(f"sources.{i}.errors must equal sources.0's ({first.errors!r}): the clean stage applies one policy")
            if "demo" in (first.format, other.format):
                raise ValueError(f"sources.{i}: demo corpora cannot be combined with other sources")
        return self

    @model_validator(mode="after")
    def _interaction_columns(self) -> PipelineConfig:
        if self.interactions is not None:
            self.sources = [self.interactions.fit_source(source) for source in self.sources]
            self.source = self.sources[0] if self.source is not None else None
        return self

    @model_validator(mode="after")
    def _pretrained_lm_names_an_lm(self) -> PipelineConfig:
        for name, model in self.models.items():
            ref = getattr(model, "pretrained_lm", None)
            if ref in self.models and self.models[ref].kind != "lstm_lm":
                raise ValueError(f"models.{name}.pretrained_lm: {ref!r} is a {self.models[ref].kind}, not an lstm_lm")
        return self

    @model_validator(mode="after")
    def _metric_reported_by_each_model(self) -> PipelineConfig:
        warm_starts = {getattr(m, "pretrained_lm", None) for m in self.models.values()}  # judged on their own metric
        for name, model in self.models.items():
            asked = self.evaluate.metric is not None and name not in warm_starts
            metric = self.evaluate.metric if asked else promotion_metric(model.kind, self.evaluate)[0]
            reported = ", ".join(test_metrics(model.kind, self.evaluate))
            if not reports_metric(model.kind, self.evaluate, metric):
                said = f"{metric!r} is" if asked else f"unset, and {model.kind}'s own metric {metric!r} is"
                _refuse(self, "metric", f"{said} not a test metric of model {name!r}: {model.kind} reports {reported}", self.evaluate.metric)
            gain = f"gain_over_baseline_{metric}"
            if self.evaluate.min_gain_over_baseline is not None and not reports_metric(model.kind, self.evaluate, gain):
                _refuse(
                    self,
                    "min_gain_over_baseline",
                    f"model {name!r} has no {gain!r} to gate on: {model.kind} reports {reported}",
                    self.evaluate.min_gain_over_baseline,
                )
        return self

    @model_validator(mode="after")
    def _applications_name_models(self) -> PipelineConfig:
        for app_name, app in self.applications.items():
            if app.model not in self.models:
                raise ValueError(f"applications.{app_name}.model: {app.model!r} is not one of this pipeline's models {sorted(self.models)}")
        return self


def _refuse(model: BaseModel, key: str, message: str, value: object) -> None:
    """Raise a ValidationError at `evaluate.<key>` of `model` (its path prefix is added by pydantic)."""
    raise ValidationError.from_exception_data(
        model.__class__.__name__, [InitErrorDetails(type=PydanticCustomError("evaluate", message), loc=("evaluate", key), input=value)]
    )


class CorpusmillConfig(BaseModel):
    """The whole file: workspace, runner, MLflow location and the pipelines."""

    model_config = ConfigDict(extra="forbid")

    workspace: str = "workspace"
    data_uri: str | None = Field(default=None, description="dataset root (fsspec URL); default <workspace>/data")
    mlflow_tracking_uri: str | None = Field(default=None, description="default sqlite:///<workspace>/mlflow.db")
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    pipelines: dict[str, PipelineConfig] = Field(min_length=1)

    @field_validator("pipelines")
    @classmethod
    def _name_pipelines(cls, pipelines: dict[str, PipelineConfig]) -> dict[str, PipelineConfig]:
        for name, pipeline in pipelines.items():
            pipeline.name = name
        return pipelines

    def pipeline(self, name: str) -> PipelineConfig:
        """One pipeline by name, or a ConfigError listing the known names."""
        if name not in self.pipelines:
            raise ConfigError(f"no pipeline {name!r} in the config; known: {', '.join(self.pipelines)}")
        return self.pipelines[name]

    def default_pipelines(self) -> list[str]:
        """Names of the pipelines marked `default: true`, in file order."""
        return [name for name, pipeline in self.pipelines.items() if pipeline.default]


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: `<file>: <key.path>: <what was expected> (got <value>)`."""
    lines = [f"{source}: {error.error_count()} problem(s)"]
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = item.get("input")
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        lines.append(f"  {path}: {item['msg']}{shown}")
    return "\n".join(lines)


def parse_config(data: object, source: str = "<config>") -> CorpusmillConfig:
    """Validate already-loaded YAML data; raise ConfigError naming each bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a `pipelines` key, got {type(data).__name__}")
    try:
        return CorpusmillConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def load_config(path: str | Path = DEFAULT_CONFIG) -> CorpusmillConfig:
    """Read and validate `pipelines.yaml`; raise ConfigError with the file and key path."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_config(data, str(path))
