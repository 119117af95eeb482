"""``csmoe world ...``: the mini world's data sets in the real formats (Major TOM Core tiles,
GEO-Bench tasks, BigEarthNet-v2). Heavy imports stay inside the commands."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params

STAGE = "data"  # MLflow experiment csmoe/data, shared with extraction and the downloads


def register(sub: Any) -> None:
    group = sub.add_parser("world", help="generate the mini world's data in the real formats")
    cmds = group.add_subparsers(dest="world_command", required=True, metavar="CMD")

    p = cmds.add_parser("majortom", help="Major TOM Core-format tiles for selected cells")
    p.add_argument("--cells", required=True, help="selected cells parquet (sampling output)")
    p.add_argument("--out", required=True, help="output folder (Major TOM layout)")
    p.add_argument("--seed", type=int, default=0, help="global seed (default: 0)")
    add_config_arguments(p, "data.world")
    p.set_defaults(func=cmd_majortom)

    p = cmds.add_parser("geobench", help="one GEO-Bench task")
    add_config_arguments(p, "downstream")
    p.add_argument("--task", required=True, help="e.g. m-eurosat")
    p.add_argument("--cells", required=True, help="sampling archive parquet")
    p.add_argument("--out", required=True, help="task folder .../{benchmark}/{task}")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_geobench)

    p = cmds.add_parser("benv2", help="the BigEarthNet-v2 set")
    add_config_arguments(p, "downstream")
    p.add_argument("--cells", required=True, help="sampling archive parquet")
    p.add_argument("--out", required=True, help="set folder (metadata.parquet + GeoTIFFs)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_benv2)


def cmd_majortom(args: argparse.Namespace) -> None:
    from csmoe.io import atomic_path
    from csmoe.tracking import stage_run
    from csmoe.world.majortom_world import WorldSpec, read_cells, select_tiles, write_world

    params = resolve_params(args)
    out = Path(args.out)
    with stage_run(STAGE, f"world-{out.name}", params={**params, "seed": args.seed}) as run:
        cells = read_cells(args.cells)
        picked = select_tiles(cells, params.get("max_tiles"), args.seed)
        start = time.perf_counter()
        with atomic_path(out, is_dir=True) as tmp:
            spec = WorldSpec.from_params(params, args.seed)
            summary = write_world(picked, tmp, spec, int(params.get("workers", 0)))
        seconds = time.perf_counter() - start
        run.log_metrics(
            {
                "cells_in": len(cells),
                "tiles": summary["tiles"],
                "defects": summary["defects"],
                "seconds": seconds,
                "tiles_per_s": summary["tiles"] / seconds,
            }
        )


def _cells(path: str) -> Any:
    from csmoe.errors import InputError
    from csmoe.world.majortom_world import read_cells

    cells = read_cells(path)  # the sampling stage's cell table, checked
    if cells.empty:
        raise InputError(path, "no cells to draw scenes from")
    return cells


def cmd_geobench(args: argparse.Namespace) -> int:
    from csmoe.data.geobench_format import get_task
    from csmoe.errors import ConfigError
    from csmoe.io import atomic_path
    from csmoe.tracking import stage_run
    from csmoe.world.geobench_world import GeobenchWorldSpec, write_task

    params = resolve_params(args)
    task = get_task(args.task)
    out = Path(args.out)
    if (out.parent.name, out.name) != (task.benchmark, task.name):
        raise ConfigError(f"{out}: task {task.name} belongs in .../{task.benchmark}/{task.name}")
    spec = GeobenchWorldSpec.from_params(params["geobench"], args.seed)
    cells = _cells(args.cells)
    run_params = {"task": task.name, "seed": args.seed, **params["geobench"]}
    with (
        stage_run(
            STAGE, f"geobench-{task.name}", params=run_params, tags={"task": task.name}
        ) as run,
        atomic_path(out, is_dir=True) as tmp,
    ):
        counts = write_task(cells, tmp, task.name, spec)
        run.log_metrics({k: v for k, v in counts.items() if isinstance(v, int)})
    print(json.dumps(counts))
    return 0


def cmd_benv2(args: argparse.Namespace) -> int:
    from csmoe.io import atomic_path
    from csmoe.tracking import stage_run
    from csmoe.world.benv2_world import Benv2WorldSpec, write_world

    params = resolve_params(args)
    spec = Benv2WorldSpec.from_params(params["benv2"], args.seed)
    cells = _cells(args.cells)
    run_params = {"seed": args.seed, **params["benv2"]}
    with (
        stage_run(STAGE, "benv2-world", params=run_params) as run,
        atomic_path(Path(args.out), is_dir=True) as tmp,
    ):
        counts = write_world(cells, tmp, spec)
        run.log_metrics(counts)
    print(json.dumps(counts))
    return 0
