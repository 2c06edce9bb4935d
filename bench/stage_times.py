"""Wall time of each stage subflow of the latest `corpus-to-model` runs, per pipeline, read from the
Prefect API the environment points at (PREFECT_API_URL, or the workspace's PREFECT_HOME):

    . workspace/stack/env && python -m bench.stage_times
    PREFECT_HOME=/tmp/ws/prefect python -m bench.stage_times
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

STAGES = ("ingest", "clean", "audit", "tokenize", "train", "evaluate", "register", "score-summaries", "score-recommendations")


async def stage_times() -> dict[str, dict[str, float]]:
    """{pipeline: {flow name: seconds}} from the newest run of each (pipeline, flow)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    async with get_client() as client:
        flows = {f.id: f.name for f in await client.read_flows(limit=200)}
        runs = await client.read_flow_runs(limit=200, sort=FlowRunSort.START_TIME_DESC)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for run in runs:
        pipeline = run.parameters.get("pipeline")
        name = flows.get(run.flow_id, "?")
        if pipeline and name in STAGES + ("corpus-to-model",) and name not in table[pipeline] and run.total_run_time:
            table[pipeline][name] = round(run.total_run_time.total_seconds(), 1)
    return table


def main() -> None:
    """Print a Markdown table: one row per pipeline, one column per stage."""
    table = asyncio.run(stage_times())
    columns = [s for s in ("corpus-to-model",) + STAGES if any(s in row for row in table.values())]
    print("| pipeline | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for pipeline, row in sorted(table.items()):
        print(f"| {pipeline} | " + " | ".join(str(row.get(c, "-")) for c in columns) + " |")


if __name__ == "__main__":
    main()
