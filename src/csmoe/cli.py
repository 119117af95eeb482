"""The ``csmoe`` command. Each stage package contributes its sub-commands via ``register``.

Stage ``cli`` modules must stay cheap to import (no torch, no mlflow at module level) so that
``csmoe --help`` and every Snakemake job start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from csmoe import usage
from csmoe.errors import CsmoeError
from csmoe.io import WRITE_ERRNOS
from csmoe.log import get_logger, setup_logging
from csmoe.tracking import ARTIFACTS_ENV, URI_ENV

# modules that define ``register(subparsers)``; a missing one is skipped (stage not built yet)
STAGE_CLIS = (
    "csmoe.tracking_cli",
    "csmoe.sampling.cli",
    "csmoe.world.cli",
    "csmoe.data.cli",
    "csmoe.downloads.cli",
    "csmoe.models.cli",
    "csmoe.train.cli",
    "csmoe.evaluation.cli",
    "csmoe.report.cli",
    "csmoe.cluster.cli",
)

# options before the command; each takes a value
GLOBAL_OPTIONS = {
    "--log-level": {"default": "INFO", "help": "logging level (default: INFO)"},
    "--mlflow-uri": {"help": "MLflow tracking URI (default: $CSMOE_MLFLOW_URI)"},
    "--mlflow-artifacts": {"help": "MLflow artifact root folder"},
}
# Commands renamed when the generated mini world got its own package (csmoe.world). The old
# names still run, with a warning, for one release (README, "Renamed commands").
RENAMED = {
    ("data", "world"): ("world", "majortom"),
    ("downstream", "geobench"): ("world", "geobench"),
    ("downstream", "benv2"): ("world", "benv2"),
    ("downstream", "inspect"): ("data", "inspect"),
}


def build_parser() -> argparse.ArgumentParser:
    renamed = ", ".join(f"{' '.join(o)} -> {' '.join(n)}" for o, n in RENAMED.items())
    parser = argparse.ArgumentParser(
        prog="csmoe",
        description=__doc__.splitlines()[0],
        epilog=f"renamed commands (old names run until the next release): {renamed}",
    )
    for option, settings in GLOBAL_OPTIONS.items():
        parser.add_argument(option, **settings)
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


class Terminated(KeyboardInterrupt):
    """SIGTERM (Snakemake cancelling a job, SLURM at the time limit), raised like Ctrl-C so
    that the command unwinds: temporaries removed, the MLflow run marked KILLED."""


def _on_sigterm(owner: int) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        if os.getpid() != owner:  # a forked worker inherited this: die as SIGTERM would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated("terminated (SIGTERM)")

    return handler


def rename_old_command(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """``argv`` with an old command name of :data:`RENAMED` replaced by its new one, and a
    warning saying so (None when nothing was renamed)."""
    argv = list(argv)
    i = 0  # the command follows the global options and their values
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in GLOBAL_OPTIONS else 1
    new = RENAMED.get(tuple(argv[i : i + 2]))
    if new is None:
        return argv, None
    warning = (
        f"'csmoe {' '.join(argv[i : i + 2])}' is now 'csmoe {' '.join(new)}'; "
        "the old name goes in the next release"
    )
    return [*argv[:i], *new, *argv[i + 2 :]], warning


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    parser = build_parser()
    argv, renamed = rename_old_command(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    if renamed:
        get_logger("csmoe").warning("%s", renamed)
    if args.mlflow_uri:
        os.environ[URI_ENV] = args.mlflow_uri
    if args.mlflow_artifacts:
        os.environ[ARTIFACTS_ENV] = args.mlflow_artifacts
    previous = signal.signal(signal.SIGTERM, _on_sigterm(os.getpid()))
    failure: tuple[str, int] | None = None
    try:
        result = args.func(args)
    except CsmoeError as err:
        failure = str(err), 2
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:
            raise
        # a write outside csmoe.io (e.g. an MLflow artifact copy) on a full or read-only disk
        failure = f"{err.filename}: cannot write ({os.strerror(err.errno)})", 2
    except Terminated as err:
        failure = str(err), 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
        get_logger("csmoe").info("%s", usage.measure(started).line())
    if failure is not None:  # after the usage line: the error stays the last line
        return _fail(*failure)
    return int(result or 0)


def _fail(message: str, status: int) -> int:
    get_logger("csmoe").error("%s", message)
    print(f"csmoe: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
