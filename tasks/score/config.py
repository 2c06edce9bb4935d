"""Configuration of the scheduled batch-scoring applications (YAML `pipelines.<p>.applications`)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApplicationConfig(BaseModel):
    """One batch-scoring application of a pipeline's registered model.

    `input` is a folder of Parquet partitions (one file per partition, e.g. a day); each run scores
    the partitions that have no output yet for the alias's current model version.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="model name in the pipeline's `models` (registered as <pipeline>-<model>)")
    alias: str = "champion"
    input: str | None = Field(default=None, description="folder of input Parquet partitions; default <data>/<pipeline>/inbox/<app>")
    schedule: str | None = Field(default="0 * * * *", description="cron schedule of the deployment; null for none")
    batch_rows: int = Field(default=1024, gt=0)
    demo_input_rows: int = Field(default=0, ge=0, description="rows of a synthetic demo partition to drop into an empty input folder")


class ApplicationsConfig(BaseModel):
    """The two applications; either may be absent."""

    model_config = ConfigDict(extra="forbid")

    recommendations: ApplicationConfig | None = None
    summaries: ApplicationConfig | None = None
