"""Configuration of the scheduled batch-scoring applications (YAML `pipelines.<p>.applications`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator


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


class ApplicationsConfig(RootModel[dict[str, ApplicationConfig | None]]):
    """The pipeline's applications by name; each name is one of `tasks/score/applications.py`'s
    registry (`recommendations`, `summaries`), and any may be absent."""

    root: dict[str, ApplicationConfig | None] = Field(default_factory=dict)  # null: not configured

    @model_validator(mode="after")
    def _known_applications(self) -> ApplicationsConfig:
        from tasks.score.applications import APPLICATIONS

        unknown = sorted(set(self.root) - set(APPLICATIONS))
        if unknown:
            raise ValueError(f"unknown application(s) {unknown}; known: {', '.join(APPLICATIONS)}")
        return self

    def items(self) -> list[tuple[str, ApplicationConfig]]:
        """The configured applications as (name, config), in registry order."""
        from tasks.score.applications import APPLICATIONS

        return [(name, app) for name in APPLICATIONS if (app := self.root.get(name)) is not None]

    def get(self, name: str) -> ApplicationConfig | None:
        """One application's config, or None when the pipeline does not configure it."""
        return self.root.get(name)
