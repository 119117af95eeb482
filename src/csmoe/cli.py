"""The ``csmoe`` command. Each stage package contributes its sub-commands via ``register``.

Stage ``cli`` modules must stay cheap to import (no torch, no mlflow at module level) so that
``csmoe --help`` and every Snakemake job start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence

from csmoe import usage
from csmoe.errors import CsmoeError
from csmoe.log import get_logger, setup_logging
from csmoe.tracking import ARTIFACTS_ENV, URI_ENV

# modules that define ``register(subparsers)``; a missing one is skipped (stage not built yet)
STAGE_CLIS = (
    "csmoe.tracking_cli",
    "csmoe.sampling.cli",
    "csmoe.data.cli",
    "csmoe.data.downstream_cli",
    "csmoe.models.cli",
    "csmoe.train.cli",
    "csmoe.evaluation.cli",
    "csmoe.report.cli",
    "csmoe.cluster.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csmoe", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    parser.add_argument("--mlflow-uri", help="MLflow tracking URI (default: $CSMOE_MLFLOW_URI)")
    parser.add_argument("--mlflow-artifacts", help="MLflow artifact root folder")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STAGE_CLIS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    if args.mlflow_uri:
        os.environ[URI_ENV] = args.mlflow_uri
    if args.mlflow_artifacts:
        os.environ[ARTIFACTS_ENV] = args.mlflow_artifacts
    try:
        result = args.func(args)
    except CsmoeError as err:
        get_logger("csmoe").error("%s", err)
        print(f"csmoe: error: {err}", file=sys.stderr)
        return 2
    finally:
        get_logger("csmoe").info("%s", usage.measure(started).line())
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
