"""``csmoe tracking init``: create the MLflow store once per workflow run."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("tracking", help="MLflow store management")
    tsub = parser.add_subparsers(dest="tracking_command", required=True)
    init = tsub.add_parser("init", help="create the SQLite store (idempotent)")
    init.add_argument("--uri", default=None, help="tracking URI (default: $CSMOE_MLFLOW_URI)")
    init.set_defaults(func=_init)


def _init(args: argparse.Namespace) -> int:
    from csmoe.tracking import init_store

    print(init_store(args.uri))
    return 0
