"""Prefect task of the register stage: log the pyfunc with its card and papers, then move an alias."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from prefect import task
from prefect.cache_policies import NONE
from pydantic import BaseModel

from tasks.common.dataset import DatasetHandle, read_part
from tasks.common.tracking import resume_run
from tasks.common.version import code_version
from tasks.evaluate.config import EvaluateConfig
from tasks.evaluate.prefect_tasks import EvalOutcome
from tasks.register.aliases import decide_and_set_alias
from tasks.register.config import RegisterConfig
from tasks.register.log_model import log_and_register
from tasks.register.model_card import CardInput, GateResult
from tasks.train.bundle import weights_hash
from tasks.train.kinds import ModelConfig
from tasks.train.prefect_tasks import RECORD_NAME, TrainRecord


class RegisterJob(BaseModel):
    """Everything one registration needs, by value or by path."""

    pipeline: str
    model_name: str
    registered_name: str
    description: str
    model: ModelConfig
    model_dir: str
    stage_uris: dict[str, str]  # clean, audit, tokens, evaluate
    registry: RegisterConfig
    evaluate: EvaluateConfig
    alias_log: str


class RegisterOutcome(BaseModel):
    """The registered version and the alias it got (and why)."""

    name: str
    version: str
    alias: str
    reason: str
    reused: bool
    markdown: str = ""


def input_example(kind: str, tokens: pd.DataFrame) -> pd.DataFrame:
    """A few raw input rows in the form the pyfunc takes: `text`, or `user_id` + `history` for the recommender."""
    if kind == "lstm_recommender":
        rows = tokens.sort_values(["user_id", "ts", "id"]).groupby("user_id")["item_id"].apply(list).head(2)
        return pd.DataFrame({"user_id": [str(u) for u in rows.index], "history": [list(map(str, h[-5:])) for h in rows]})
    return pd.DataFrame({"text": tokens["text"].head(3).astype(str).tolist()})


def _existing(client: MlflowClient, name: str, train_key: str, weights: str) -> Any | None:
    """The version already registered from this exact training run and these exact weights, if any."""
    try:
        versions = client.search_model_versions(f"name = '{name}' and tag.train_cache_key = '{train_key}'"
                                                f" and tag.weights_hash = '{weights}'")
    except mlflow.exceptions.MlflowException:
        return None
    return versions[0] if versions else None


def _read_json(handle: DatasetHandle, name: str) -> dict[str, Any]:
    path = handle.join(name)
    if not handle.fs.exists(path):
        return {}
    with handle.fs.open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def register_one(job: RegisterJob) -> RegisterOutcome:
    """Register (or find the registration of) one evaluated model and decide its alias."""
    client = MlflowClient()
    record = TrainRecord.model_validate_json((Path(job.model_dir) / RECORD_NAME).read_text())
    evaluation = DatasetHandle(job.stage_uris["evaluate"])
    outcome = EvalOutcome.model_validate(_read_json(evaluation, "report.json"))
    found = _existing(client, job.registered_name, record.cache_key, weights_hash(Path(record.bundle_dir)))
    if found is not None:  # search results carry no aliases: read the version itself
        aliases = ", ".join(client.get_model_version(job.registered_name, found.version).aliases) or "none"
        return RegisterOutcome(name=job.registered_name, version=str(found.version), alias=aliases,
                               reason="already registered from this exact training run", reused=True)
    clean, audit, tokens = (DatasetHandle(job.stage_uris[s]) for s in ("clean", "audit", "tokens"))
    audit_report = _read_json(audit, "report.json")
    splits = tokens.require_manifest().counters.get("splits", {})  # rows per split, counted at tokenize
    hashes = {name: DatasetHandle(uri).require_manifest().content_hash for name, uri in job.stage_uris.items()
              if DatasetHandle(uri).read_manifest() is not None}
    card = CardInput(
        model_name=job.registered_name, kind=job.model.kind, pipeline=job.pipeline, description=job.description
        + (f"\n\n{job.registry.description}" if job.registry.description else ""),
        dataset_manifest_hash=hashes.get("clean", ""), rows=splits,
        tokenizer={"hash": record.tokenizer_hash}, training_params=job.model.model_dump(mode="json"),
        metrics=outcome.metrics,
        group_metrics=(outcome.model_audit or {}).get("groups", []),
        model_gates=[GateResult(name="fairness", passed=outcome.fairness_passed, message=outcome.fairness_reason)],
        corpus_audit_headline=audit.require_manifest().counters.get("headline", "") if hashes.get("audit") else "",
        corpus_gates=[GateResult.model_validate(g) for g in audit_report.get("gates", [])],
        dataset_uris=[clean.uri, tokens.uri], input_manifest_hashes=hashes, code_version=code_version("train"),
    )
    tags = {"pipeline": job.pipeline, "dataset_manifest_hash": hashes.get("clean", ""),
            "tokens_hash": hashes.get("tokens", ""), "audit_hash": hashes.get("audit", ""),
            "code_version": code_version("train", "evaluate", "register"), "eval_cache_key": outcome.cache_key, "train_cache_key": record.cache_key,
            **job.registry.tags}
    extra = {"corpus_audit": Path(audit.path)} if hashes.get("audit") else {}
    extra["evaluation"] = Path(evaluation.join("report.json"))
    mitigated = [Path(tokens.join(n)) for n in ("audit_mitigated.json", "audit_mitigated.md")]
    first_part = read_part(tokens.part_uris()[0])  # a few raw rows are enough for the signature
    example = input_example(job.model.kind, first_part.select(
        [c for c in ("id", "text", "user_id", "item_id", "ts") if c in first_part.column_names]).to_pandas())
    with tempfile.TemporaryDirectory() as papers, resume_run(record.run_id):
        if all(p.is_file() for p in mitigated):  # the audit of what the model saw, after mitigation
            for p in mitigated:
                shutil.copyfile(p, Path(papers) / p.name)
            extra["corpus_audit_mitigated"] = Path(papers)
        registered = log_and_register(Path(record.bundle_dir), job.registered_name, example, card, tags, extra)
    cfg = job.evaluate.model_copy(update={"metric": outcome.metric, "higher_is_better": outcome.higher_is_better})
    fairness = outcome.fairness_passed or not job.registry.require_fairness_gates
    decision = decide_and_set_alias(client, job.registered_name, registered.version, outcome.metrics, fairness,
                                    outcome.fairness_reason, cfg, job.registry, Path(job.alias_log),
                                    champion_on_split=outcome.champion_metrics)
    return RegisterOutcome(name=job.registered_name, version=str(registered.version), alias=decision.alias,
                           reason=decision.reason, reused=False, markdown=decision.to_markdown())


@task(name="register-model", cache_policy=NONE)
def register_model_task(job: RegisterJob) -> RegisterOutcome:
    """Prefect wrapper of `register_one`."""
    return register_one(job)
