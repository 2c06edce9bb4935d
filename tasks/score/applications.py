"""The registry of batch-scoring applications: YAML key under `applications` -> `Application`.

An application scores new input partitions with a pipeline's registered model on a schedule
(`flows/scoring.py` does the work). A new one is its flow module (`flows/score_<name>.py`: a
Prefect flow of its own name calling `score_application`) plus one line here. Config validation,
`corpusmill run`, the deployments and the run summary read this registry; nothing here imports
Prefect (the config is loaded before Prefect's environment is set).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Application:
    """One application: its `name` (YAML key; data folders `inbox/<name>`, `scores/<name>`), what
    one scored row is for people (`unit`), its Prefect flow (`module:function`), and optionally a
    `report` (`module:function`, `(pipeline, result) -> Markdown`) appended to the scoring artifact."""

    name: str
    unit: str
    flow: str
    report: str | None = None

    def load_flow(self) -> Any:
        """The application's Prefect flow object (imports Prefect)."""
        return _load(self.flow)

    def report_markdown(self, pipeline: str, result: dict[str, Any]) -> str:
        """The extra Markdown of one scoring run (empty when the application has no `report`)."""
        return _load(self.report)(pipeline, result) if self.report else ""


APPLICATIONS: dict[str, Application] = {
    app.name: app
    for app in (
        Application(
            "recommendations", "users", "flows.score_recommendations:score_recommendations_flow", report="tasks.score.recommendations:scoring_markdown"
        ),  # rows and distinct users per scored window
        Application("summaries", "documents", "flows.score_summaries:score_summaries_flow"),
    )
}
