"""``csmoe cluster explain``: say why the SLURM jobs of a failed Snakemake run failed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("cluster", help="running the workflow on SLURM")
    csub = parser.add_subparsers(dest="cluster_command", required=True)
    explain = csub.add_parser(
        "explain",
        help="one line per failed SLURM job of a Snakemake run: rule, job id, why, logs",
        description="Read a Snakemake log (the workflow's onerror handler passes its own) and "
        "the SLURM logs it names; print, per failed SLURM job, the rule, the job id, the "
        "reason (memory, time limit, cancelled, refused at submission) and the logs.",
    )
    explain.add_argument("--snakemake-log", required=True, type=Path)
    explain.set_defaults(func=_explain)


def _explain(args: argparse.Namespace) -> int:
    from csmoe.cluster.explain import explain
    from csmoe.errors import InputError

    try:
        text = args.snakemake_log.read_text(errors="replace")
    except OSError as err:
        raise InputError(args.snakemake_log, f"cannot read the Snakemake log ({err})") from err
    for failure in explain(text):
        print(f"csmoe: {failure.line()}")
    return 0
