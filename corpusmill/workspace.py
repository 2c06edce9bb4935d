"""Where everything produced lives, and the environment the tools need to find it.

<root>/data/<pipeline>/<stage>/      dataset handles (raw, clean, quarantine, audit, tokens, ...)
<root>/models/<pipeline>/<model>/    checkpoints and saved bundles
<root>/mlflow.db, <root>/mlartifacts MLflow tracking store and artifacts
<root>/prefect/                      PREFECT_HOME (SQLite database of the local Prefect)
<root>/registry/alias_log.jsonl      every move of a champion/challenger alias
<root>/locks/pipeline-<name>.lock    held by the run writing that pipeline (see tasks.common.locks)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OFFLINE_ENV = {
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "true",
    # Prefect 3.9 serves its new UI (/v2) by default, which loads an outside analytics script;
    # the classic UI makes no outside request. No "upgrade to Cloud" promotions either.
    "PREFECT_SERVER_UI_V2_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}


@dataclass(frozen=True)
class Workspace:
    """The workspace root (a local folder) and, optionally, a data root elsewhere (fsspec URL)."""

    root: Path
    data_root: str = ""

    @classmethod
    def at(cls, root: str | os.PathLike[str], data_uri: str | None = None) -> Workspace:
        """A workspace at `root` (made absolute); datasets under `data_uri` or `<root>/data`."""
        base = Path(root).expanduser().resolve()
        return cls(root=base, data_root=(data_uri or str(base / "data")).rstrip("/"))

    def stage_uri(self, pipeline: str, stage: str) -> str:
        """Folder URI of one stage's dataset, e.g. `<data>/demo-reviews/clean`."""
        return f"{self.data_root}/{pipeline}/{stage}"

    def model_dir(self, pipeline: str, model: str) -> Path:
        """Local folder for a model's checkpoints and bundle."""
        return self.root / "models" / pipeline / model

    @property
    def mlflow_tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def lock_dir(self) -> Path:
        """Lock files of the runs writing this workspace (`pipeline-<name>.lock`)."""
        return self.root / "locks"

    @property
    def alias_log(self) -> Path:
        return self.root / "registry" / "alias_log.jsonl"

    def environment(self, mlflow_tracking_uri: str | None = None) -> dict[str, str]:
        """Environment variables that point Prefect and MLflow at this workspace, offline."""
        env = dict(OFFLINE_ENV)
        env["PREFECT_HOME"] = str(self.prefect_home)
        env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
        env["MLFLOW_TRACKING_URI"] = mlflow_tracking_uri or self.mlflow_tracking_uri
        return env


def apply_environment(env: dict[str, str], override: bool = False) -> None:
    """Export `env` into this process (keeping values the user already set unless `override`).

    Must run before Prefect is imported: Prefect reads PREFECT_HOME when it loads its settings.
    """
    for key, value in env.items():
        if override or key not in os.environ:
            os.environ[key] = value
