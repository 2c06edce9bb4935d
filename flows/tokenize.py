"""Tokenize: train an HF `tokenizers` tokenizer on the clean text, split by id hash, encode every shard,
and apply the mitigation the audit chose (reweight or counterfactual), re-auditing the train split."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunContext, artifact_key, summary
from tasks.audit.mitigated import MITIGATED_JSON, MITIGATED_MD
from tasks.common.dataset import DatasetHandle, Manifest
from tasks.common.degenerate import require_splits
from tasks.common.retry import storage_task_options
from tasks.common.stage import Stage, StageRun, merge_counters
from tasks.tokenize.prefect_tasks import (
    TOKENIZER_FILE,
    audit_tokens_shard_task,
    encode_shard_task,
    mitigation_weights_task,
    split_task,
    train_tokenizer_task,
    work_part_uri,
    write_mitigated_audit_task,
)


class TokenizeStage(Stage):
    """`clean` (+ `audit`) -> `tokens`: the clean rows plus split, input_ids, length, weight; and tokenizer.json.

    When the audit manifest's counter `mitigation` is `reweight`, `weight` equalises label rates
    across identity groups on the train split; when `counterfactual`, term-swapped copies
    (`<id>#cf`) of train rows are added. Then `audit_mitigated.json/.md` (the audit recomputed on
    the train split the model sees) are written beside the parts, the counter
    `mitigation_headline` says the largest gap before -> after, and a Prefect artifact shows it.
    """

    name = "tokenize"
    packages = ("tokenize",)

    def plan(self) -> list[StageRun]:
        """`tokens`, keyed by clean (+ audit), the tokenize/split/audit sections and the mitigation."""
        cfg = self.ctx.pipeline
        self.clean = DatasetHandle(self.ctx.stage_uri("clean"))
        self.audit = DatasetHandle(self.ctx.stage_uri("audit"))
        audit_manifest = self.audit.read_manifest()
        self.mitigation = str(audit_manifest.counters.get("mitigation", "none")) if audit_manifest else "none"
        inputs = [self.clean] + ([self.audit] if audit_manifest is not None else [])
        return [self.start("tokens", inputs, cfg.tokenize, cfg.split, cfg.audit, self.mitigation)]

    def compute(self, units: list[StageRun]) -> list[Manifest]:
        """Tokenizer, splits, (weights), every shard encoded (tasks), (the mitigated audit), commit."""
        (run,), cfg, mitigation = units, self.ctx.pipeline, self.mitigation
        parts = self.clean.part_uris()
        tokenizer_path = train_tokenizer_task(parts, cfg.tokenize, run.out.uri, run.key)
        splits_uri = split_task(parts, cfg.split, run.out.uri, run.key)
        weights_uri = mitigation_weights_task(parts, splits_uri, cfg.audit, run.out.uri, run.key) if mitigation == "reweight" and parts else None
        counterfactual = cfg.audit if mitigation == "counterfactual" else None
        retrying = storage_task_options(self.ctx.config.runner)  # transient storage errors only
        futures = [
            encode_shard_task.with_options(**retrying).submit(
                uri, tokenizer_path, splits_uri, cfg.tokenize, run.out.uri, run.key, f"part-{i:05d}.parquet", weights_uri, counterfactual
            )
            for i, uri in enumerate(parts)
        ]
        results = [f.result() for f in futures]
        counters = {**merge_counters(results), "mitigation": mitigation}
        extra_files = [TOKENIZER_FILE]
        if mitigation != "none" and results:
            counts = [
                audit_tokens_shard_task.with_options(**retrying).submit(work_part_uri(run.out.uri, run.key, r.name), cfg.audit, mitigation == "reweight")
                for r in results
            ]
            headline, files = write_mitigated_audit_task([c.result() for c in counts], self.audit.uri, cfg.audit, mitigation, run.out.uri, run.key)
            counters["mitigation_headline"] = headline
            extra_files += files
        for stale in (MITIGATED_JSON, MITIGATED_MD):  # a previous run's mitigated audit no longer applies
            if stale not in extra_files and run.out.fs.exists(run.out.join(stale)):
                run.out.fs.rm(run.out.join(stale))
        return [run.commit(results, counters, extra_files=extra_files)]

    def result(self, units: list[StageRun], outputs: list[Manifest], reused: bool) -> dict[str, Any]:
        """The summary with the mitigation; the mitigated audit as an artifact; the split check."""
        (run,), (manifest,) = units, outputs
        _publish(self.ctx.pipeline.name, run, manifest)
        require_splits(self.ctx.pipeline.name, manifest.counters.get("splits", {}), self.ctx.pipeline.split.test)
        result = summary(manifest, reused)
        result["mitigation"] = manifest.counters.get("mitigation", "none")
        result["mitigation_headline"] = manifest.counters.get("mitigation_headline", "")
        return result


def _publish(pipeline: str, run: StageRun, manifest: Manifest) -> None:
    """The recomputed audit as a Prefect markdown artifact, when a mitigation was applied."""
    headline = manifest.counters.get("mitigation_headline")
    path = run.out.join(MITIGATED_MD)
    if not headline or not run.out.fs.exists(path):
        return
    from prefect.artifacts import create_markdown_artifact

    with run.out.fs.open(path, "r", encoding="utf-8") as handle:
        markdown = handle.read()
    create_markdown_artifact(key=artifact_key(pipeline, "audit-mitigated"), markdown=markdown, description=f"Audit of {pipeline} after mitigation: {headline}")
    print(f"mitigation {headline}")


@flow(name="tokenize", log_prints=True)
def tokenize_flow(pipeline: str, config_path: str = "pipelines.yaml", workspace: str | None = None) -> dict[str, Any]:
    """Write `<data>/<pipeline>/tokens` (see `TokenizeStage`)."""
    return TokenizeStage(RunContext.load(config_path, pipeline, workspace)).run()
