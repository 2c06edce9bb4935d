"""Registration as a resumable state machine, so that a run killed at any point is completed by the
next run instead of being taken for a finished registration.

A version moves through the states kept in its tag `registration_state`:
    created     the version exists, with all its tags (`train_cache_key` finds it again)
    documented  model card, descriptions and papers attached to it and its run
    decided     the alias decision is stored in the tag `registration_decision`
    aliased     the alias points to it (and its `metric.*` tags are set)
    complete    the alias move is in `registry/alias_log.jsonl` and the `alias_event.<n>` tags
A re-run finds the version by its training's cache key and does the steps after its state.
Concurrency: the caller holds a lock file per registered model (one workspace); for runs that do
not share it (clients of one MLflow server), `keep_lowest` leaves one version per training.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tasks.register.aliases import AliasDecision, read_alias_log, record_alias_event, set_alias

STATE_TAG = "registration_state"
DECISION_TAG = "registration_decision"
CREATED, DOCUMENTED, DECIDED, ALIASED, COMPLETE = "created", "documented", "decided", "aliased", "complete"
ORDER = (CREATED, DOCUMENTED, DECIDED, ALIASED, COMPLETE)


def versions_of_training(client: MlflowClient, name: str, train_key: str, weights: str | None = None) -> list[ModelVersion]:
    """Versions of `name` registered from the training with cache key `train_key` (and, when given,
    weights hash `weights`: a bundle retrained under the same key is another version), lowest first."""
    query = f"name = '{name}' and tag.train_cache_key = '{train_key}'"
    if weights is not None:
        query += f" and tag.weights_hash = '{weights}'"
    try:
        found = client.search_model_versions(query)
    except MlflowException:  # no such registered model yet
        return []
    return sorted(found, key=lambda v: int(v.version))


def registration_state(client: MlflowClient, name: str, version: str, log_path: Path) -> str:
    """The state of a version (see the module doc). A version registered before states were kept
    counts as complete when it has an alias or an alias-log line, else as created or documented."""
    mv = client.get_model_version(name, version)
    state = (mv.tags or {}).get(STATE_TAG)
    if state in ORDER:
        return state
    if mv.aliases or any(e.model == name and e.to_version == str(version) for e in read_alias_log(log_path)):
        return COMPLETE
    return DOCUMENTED if mv.description else CREATED


def set_state(client: MlflowClient, name: str, version: str, state: str) -> None:
    """Record that `version` reached `state`."""
    client.set_model_version_tag(name, str(version), STATE_TAG, state)


def keep_lowest(client: MlflowClient, name: str, train_key: str, mine: str) -> str:
    """After creating version `mine`: when an older version of the same training exists (created by
    a concurrent run), delete `mine` and return that one's number; else return `mine`."""
    numbers = [str(v.version) for v in versions_of_training(client, name, train_key)]
    winner = numbers[0] if numbers else str(mine)
    if winner != str(mine):
        client.delete_model_version(name, str(mine))
    return winner


def finish_alias(
    client: MlflowClient, name: str, version: str, state: str, decide: Callable[[], AliasDecision], metrics: dict[str, float], log_path: Path
) -> AliasDecision:
    """Do the alias steps still missing for a version in `state` (documented or later): decide
    (with `decide`, once: the decision is stored in the version's tags), point the alias, log it.
    Returns the decision."""
    version = str(version)
    if ORDER.index(state) < ORDER.index(DECIDED):
        decision = decide()
        client.set_model_version_tag(name, version, DECISION_TAG, decision.model_dump_json())
        set_state(client, name, version, DECIDED)
        state = DECIDED
    else:
        decision = AliasDecision.model_validate_json(client.get_model_version(name, version).tags[DECISION_TAG])
    if state == DECIDED:
        set_alias(client, decision, metrics)
        set_state(client, name, version, ALIASED)
    record_alias_event(client, decision.events[0], log_path)
    set_state(client, name, version, COMPLETE)
    return decision
