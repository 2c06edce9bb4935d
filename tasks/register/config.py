"""Typed configuration of the register stage (YAML section `register:`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RegisterConfig(BaseModel):
    """Whether and how trained models are registered in MLflow and given aliases.

    A new version becomes `alias_champion` only when it beats the current champion on
    `evaluate.metric` and (when `require_fairness_gates`) passes the model-audit gates; otherwise
    it gets `alias_challenger`. `description` is appended to the model card; `tags` are set on
    every registered version.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    require_fairness_gates: bool = True
    alias_champion: str = "champion"
    alias_challenger: str = "challenger"
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
