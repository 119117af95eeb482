"""``csmoe data ...``: build the patch store from Major TOM tiles, inspect GEO-Bench and
BigEarthNet-v2 sets. Heavy imports stay inside the commands."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params


def register(sub: Any) -> None:
    parser = sub.add_parser("data", help="the training patch store; real-format data sets")
    cmds = parser.add_subparsers(dest="data_command", required=True, metavar="CMD")

    extract = cmds.add_parser("extract", help="cut tiles into patches, write the patch store")
    extract.add_argument("--tiles", required=True, help="Major TOM folder (S2L2A/, S1RTC/)")
    extract.add_argument("--store", required=True, help="output store.zarr")
    extract.add_argument("--stats", required=True, help="output stats.json")
    extract.add_argument("--seed", type=int, default=0, help="global seed (default: 0)")
    add_config_arguments(extract, "data.extract")
    extract.set_defaults(func=_extract)

    p = cmds.add_parser("inspect", help="summarise a GEO-Bench task or a BigEarthNet-v2 set")
    p.add_argument("--root", required=True, help="GEO-Bench root or BigEarthNet-v2 folder")
    p.add_argument("--task", help="GEO-Bench task (omit for BigEarthNet-v2)")
    p.add_argument("--subset", default="all", help="BigEarthNet-v2 subset: 14k, 243k, all")
    p.add_argument("--split", default="test")
    p.set_defaults(func=_inspect)


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
                "s2_tiles_per_baseline": stats["s2_offset"]["tiles_per_baseline"],
                "s2_tiles_offset_removed": stats["s2_offset"]["tiles_offset_removed"],
                "seconds": seconds,
                "tiles_per_s": stats["tiles_in"] / seconds,
            }
        )
        run.log_artifact(args.stats)


def _inspect(args: argparse.Namespace) -> int:
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
