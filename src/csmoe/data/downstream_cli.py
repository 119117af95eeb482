"""``csmoe downstream …`` (generated GEO-Bench / BigEarthNet-v2 sets, inspection) and
``csmoe download …`` (the real archives, paper.yaml). Heavy imports stay inside commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params

STAGE = "data"


def register(sub: Any) -> None:
    _register_downstream(sub)
    _register_download(sub)


def _register_downstream(sub: Any) -> None:
    group = sub.add_parser("downstream", help="GEO-Bench and BigEarthNet-v2 sets")
    cmds = group.add_subparsers(dest="downstream_command", required=True, metavar="CMD")

    p = cmds.add_parser("geobench", help="generate one GEO-Bench task from the mini world")
    add_config_arguments(p, "downstream")
    p.add_argument("--task", required=True, help="e.g. m-eurosat")
    p.add_argument("--cells", required=True, help="sampling archive parquet")
    p.add_argument("--out", required=True, help="task folder .../{benchmark}/{task}")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_geobench)

    p = cmds.add_parser("benv2", help="generate the BigEarthNet-v2 set from the mini world")
    add_config_arguments(p, "downstream")
    p.add_argument("--cells", required=True, help="sampling archive parquet")
    p.add_argument("--out", required=True, help="set folder (metadata.parquet + GeoTIFFs)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_benv2)

    p = cmds.add_parser("inspect", help="summarise a GEO-Bench task or a BigEarthNet-v2 set")
    p.add_argument("--root", required=True, help="GEO-Bench root or BigEarthNet-v2 folder")
    p.add_argument("--task", help="GEO-Bench task (omit for BigEarthNet-v2)")
    p.add_argument("--subset", default="all", help="BigEarthNet-v2 subset: 14k, 243k, all")
    p.add_argument("--split", default="test")
    p.set_defaults(func=cmd_inspect)


def _register_download(sub: Any) -> None:
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


# ---- downstream --------------------------------------------------------------------------


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


def cmd_inspect(args: argparse.Namespace) -> int:
    import numpy as np

    if args.task:
        from csmoe.data.geobench import load_task

        data = load_task(args.root, args.task, args.split)
        summary: dict[str, Any] = {
            "task": args.task, "split": args.split, "kind": data.kind,
            "samples": len(data.sample_names), "s2": list(data.s2.shape),
            "s1": None if data.s1 is None else list(data.s1.shape),
            "num_classes": data.num_classes,
            "label_counts": np.bincount(data.labels.ravel(), minlength=data.num_classes).tolist()
            if data.kind != "multilabel" else data.labels.sum(axis=0).tolist(),
        }  # fmt: skip
    else:
        from csmoe.data.benv2 import load_pairs

        pairs = load_pairs(args.root, args.subset, args.split)
        summary = {
            "subset": args.subset, "split": args.split, "pairs": len(pairs.patch_ids),
            "s1": list(pairs.s1.shape), "s2": list(pairs.s2.shape),
            "labels_per_patch": float(pairs.labels.sum(axis=1).mean()),
        }  # fmt: skip
    print(json.dumps(summary, indent=2))
    return 0


# ---- downloads ---------------------------------------------------------------------------


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
