"""``csmoe data ...``: generate the mini world's Major TOM tiles, build the patch store."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params


def register(sub: Any) -> None:
    parser = sub.add_parser("data", help="Major TOM tiles and the training patch store")
    cmds = parser.add_subparsers(dest="data_command", required=True, metavar="CMD")

    world = cmds.add_parser("world", help="write Major TOM Core-format tiles for selected cells")
    world.add_argument("--cells", required=True, help="selected cells parquet (sampling output)")
    world.add_argument("--out", required=True, help="output folder (Major TOM layout)")
    world.add_argument("--seed", type=int, default=0, help="global seed (default: 0)")
    add_config_arguments(world, "data.world")
    world.set_defaults(func=_world)

    extract = cmds.add_parser("extract", help="cut tiles into patches, write the patch store")
    extract.add_argument("--tiles", required=True, help="Major TOM folder (S2L2A/, S1RTC/)")
    extract.add_argument("--store", required=True, help="output store.zarr")
    extract.add_argument("--stats", required=True, help="output stats.json")
    extract.add_argument("--seed", type=int, default=0, help="global seed (default: 0)")
    add_config_arguments(extract, "data.extract")
    extract.set_defaults(func=_extract)


def _world(args: argparse.Namespace) -> None:
    from csmoe.io import atomic_path
    from csmoe.tracking import stage_run
    from csmoe.world.majortom_world import WorldSpec, read_cells, select_tiles, write_world

    params = resolve_params(args)
    out = Path(args.out)
    with stage_run("data", f"world-{out.name}", params={**params, "seed": args.seed}) as run:
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


def _extract(args: argparse.Namespace) -> None:
    from csmoe.data.extract import build_store
    from csmoe.tracking import stage_run

    params = resolve_params(args)
    name = Path(args.store).parent.name
    with stage_run("data", f"extract-{name}", params={**params, "seed": args.seed}) as run:
        start = time.perf_counter()
        stats = build_store(args.tiles, args.store, args.stats, params, args.seed)
        seconds = time.perf_counter() - start
        run.log_metrics(
            {
                "tiles_in": stats["tiles_in"],
                "tiles_skipped": stats["tiles_skipped"],
                "patches_written": stats["patches_written"],
                "patches_dropped": stats["patches_dropped"],
                "split": stats["split"],
                "seconds": seconds,
                "tiles_per_s": stats["tiles_in"] / seconds,
            }
        )
        run.log_artifact(args.stats)
