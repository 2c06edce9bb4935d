"""Register a config's deployments on a `process` work pool, flows loaded from the repository folder.

Run by `corpusmill stack up` (and by hand after editing the config) with the stack's environment:
    . workspace/stack/env && python -m corpusmill.stack_deploy --config infra/pipelines.stack.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

from corpusmill.config import load_config
from corpusmill.stack_services import REPO_ROOT


def deploy_to_pool(config_path: str, workspace: str, pool: str, source: str) -> list[str]:
    """Create/update `corpus-to-model/<pipeline>` and the scheduled scoring deployments on `pool`;
    returns their names. The worker runs each flow run in a new process in `source`."""
    from prefect import deploy

    from flows.deployments import build_deployments

    deployments = build_deployments(load_config(config_path), config_path, workspace, source=source)
    deploy(*deployments, work_pool_name=pool, build=False, push=False, print_next_steps_message=False, ignore_warnings=True)
    return [f"{d.flow_name}/{d.name}" for d in deployments]


def main(argv: list[str] | None = None) -> int:
    """Command line of `python -m corpusmill.stack_deploy`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(REPO_ROOT / "infra" / "pipelines.stack.yaml"))
    parser.add_argument("--workspace", default="workspace")
    parser.add_argument("--pool", default="corpusmill")
    parser.add_argument("--source", default=str(REPO_ROOT))
    args = parser.parse_args(argv)
    names = deploy_to_pool(str(Path(args.config).resolve()), str(Path(args.workspace).resolve()), args.pool, args.source)
    print(f"deployed {len(names)} deployment(s) to work pool {args.pool}: {', '.join(names)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
