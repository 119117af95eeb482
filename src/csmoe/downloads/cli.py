"""``csmoe download ...``: the real archives (paper.yaml). Heavy imports stay inside the
commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params

STAGE = "data"  # MLflow experiment csmoe/data, shared with the world and extraction


def register(sub: Any) -> None:
    group = sub.add_parser("download", help="download the real archives (paper.yaml)")
    cmds = group.add_subparsers(dest="download_command", required=True, metavar="CMD")

    p = cmds.add_parser("majortom-metadata", help="a Major TOM Core product's metadata")
    add_config_arguments(p, "downloads")
    p.add_argument("--product", required=True, choices=("S2L2A", "S1RTC"))
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_majortom_metadata)

    p = cmds.add_parser("majortom", help="the selected cells' Major TOM Core rows")
    add_config_arguments(p, "downloads")
    p.add_argument("--cells", required=True, help="selected cells parquet (grid_cell)")
    p.add_argument("--s2-metadata", required=True)
    p.add_argument("--s1-metadata", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_majortom)

    p = cmds.add_parser("geobench", help="one GEO-Bench task")
    add_config_arguments(p, "downloads")
    p.add_argument("--task", required=True)
    p.add_argument("--out", required=True, help="task folder .../{benchmark}/{task}")
    p.set_defaults(func=cmd_download_geobench)

    p = cmds.add_parser("benv2", help="BigEarthNet-v2 (reBEN)")
    add_config_arguments(p, "downloads")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_download_benv2)

    p = cmds.add_parser("raster", help="a configured climate / land-cover raster")
    add_config_arguments(p, "downloads")
    p.add_argument("--name", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_raster)

    p = cmds.add_parser("fetch", help="one URL, resumable and verified")
    p.add_argument("url")
    p.add_argument("dest")
    p.add_argument("--md5")
    p.add_argument("--sha256")
    p.add_argument("--retries", type=int, default=5)
    p.set_defaults(func=cmd_fetch)


def _cache(params: dict[str, Any], *parts: str) -> Path:
    return Path(params["cache"], *parts)


def cmd_majortom_metadata(args: argparse.Namespace) -> int:
    from csmoe.downloads.sets import majortom_metadata
    from csmoe.tracking import stage_run

    params = resolve_params(args)
    with stage_run(STAGE, f"download-majortom-metadata-{args.product}", params=params) as run:
        path = majortom_metadata(args.product, Path(args.out), params)
        run.log_metrics({"bytes": path.stat().st_size})
    return 0


def cmd_majortom(args: argparse.Namespace) -> int:
    import pandas as pd

    from csmoe.downloads.sets import majortom
    from csmoe.tracking import stage_run

    params = resolve_params(args)
    cells = pd.read_parquet(args.cells, columns=["grid_cell"])
    metadata = {"S2L2A": Path(args.s2_metadata), "S1RTC": Path(args.s1_metadata)}
    out = Path(args.out)
    with stage_run(STAGE, f"download-majortom-{out.name}", params=params) as run:
        stats = majortom(cells, metadata, out, _cache(params, "majortom"), params)
        run.log_metrics(stats)
    print(json.dumps(stats))
    return 0


def cmd_download_geobench(args: argparse.Namespace) -> int:
    from csmoe.data.geobench_format import get_task
    from csmoe.downloads.sets import geobench_task
    from csmoe.tracking import stage_run

    params = resolve_params(args)
    task = get_task(args.task)
    with stage_run(STAGE, f"download-geobench-{task.name}", params=params,
                   tags={"task": task.name}):  # fmt: skip
        geobench_task(task.benchmark, task.name, Path(args.out), _cache(params, "geobench"),
                      params)  # fmt: skip
    return 0


def cmd_download_benv2(args: argparse.Namespace) -> int:
    from csmoe.downloads.sets import benv2
    from csmoe.tracking import stage_run

    params = resolve_params(args)
    with stage_run(STAGE, "download-benv2", params=params):
        benv2(Path(args.out), _cache(params, "benv2"), params)
    return 0


def cmd_raster(args: argparse.Namespace) -> int:
    from csmoe.downloads.sets import raster
    from csmoe.tracking import stage_run

    params = resolve_params(args)
    with stage_run(STAGE, f"download-raster-{args.name}", params=params):
        raster(args.name, Path(args.out), _cache(params, "rasters"), params)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from csmoe.downloads.protocol import fetch

    fetch(args.url, args.dest, md5=args.md5, sha256=args.sha256, retries=args.retries)
    return 0
