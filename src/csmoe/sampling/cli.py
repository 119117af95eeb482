"""``csmoe grid ...`` and ``csmoe sampling ...``: descriptors, GA and random samples, Table II,
Fig. 3. Heavy imports stay inside the command functions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, load_config, resolve_params

RESULTS = Path("results")
SAMPLING = RESULTS / "sampling"


def register(sub: Any) -> None:
    grid = sub.add_parser("grid", help="the Major TOM grid")
    gsub = grid.add_subparsers(dest="grid_command", required=True)
    locate = gsub.add_parser(
        "locate",
        help="print the id of the cell holding a point (negative numbers after --)",
        description="e.g. csmoe grid locate -- -9.8 -41.6",
    )
    locate.add_argument("lat", type=float)
    locate.add_argument("lon", type=float)
    locate.add_argument("--km", type=float, default=10.0, help="grid spacing (default: 10)")
    locate.set_defaults(func=_locate)

    parser = sub.add_parser("sampling", help="descriptors (Alg. 1), GA + random (Alg. 2), Table II")
    ssub = parser.add_subparsers(dest="sampling_command", required=True)

    def command(name: str, help_text: str, func: Any, out: Path, inputs: tuple[str, ...]) -> None:
        cmd = ssub.add_parser(name, help=help_text)
        add_config_arguments(cmd, "sampling")
        cmd.add_argument("--seed", type=int, help="seed (default: the config's top-level seed)")
        for name_in in inputs:
            flag = "--" + name_in.replace("_", "-")
            cmd.add_argument(flag, default=str(SAMPLING / f"{name_in}.parquet"))
        cmd.add_argument("--out", default=str(out), help="output (default: %(default)s)")
        cmd.set_defaults(func=func)

    command("archive", "describe the archive's cells", _archive, SAMPLING / "archive.parquet", ())
    command("ga", "GA sample per stratum (MTomμ)", _ga, SAMPLING / "mtom_mu.parquet", ("archive",))
    command(
        "random",
        "random sample with the GA's counts (MTomr)",
        _random,
        SAMPLING / "mtom_r.parquet",
        ("archive", "mtom_mu"),
    )
    command("table2", "Table II", _table2, RESULTS / "table2.csv", ("archive", "mtom_r", "mtom_mu"))
    command(
        "fig3", "Fig. 3 world maps", _fig3, RESULTS / "fig3.png", ("archive", "mtom_r", "mtom_mu")
    )


def _locate(args: argparse.Namespace) -> int:
    from csmoe.errors import InputError
    from csmoe.sampling.grid import MajorTomGrid

    try:
        cells = MajorTomGrid(args.km).locate(args.lat, args.lon)
    except ValueError as err:
        raise InputError(f"({args.lat}, {args.lon})", str(err)) from err
    print(cells.names()[0])
    return 0


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    params = resolve_params(args)
    seed = args.seed if args.seed is not None else int(load_config(args.config).get("seed", 0))
    return params, seed


def _archive(args: argparse.Namespace) -> int:
    import time

    from csmoe.io import write_parquet
    from csmoe.sampling.descriptors import build_archive
    from csmoe.tracking import stage_run

    params, seed = _settings(args)
    with stage_run("sampling", "archive", params={**params, "seed": seed}) as run:
        start = time.monotonic()
        archive = build_archive(params)
        write_parquet(args.out, archive)
        run.log_metrics(
            {
                "cells": len(archive),
                "strata": archive.groupby(["climate", "landcover"]).ngroups,
                "climate_zones": archive["climate"].nunique(),
                "landcover_classes": archive["landcover"].nunique(),
                "seconds": time.monotonic() - start,
            }
        )
    return 0


def _ga(args: argparse.Namespace) -> int:
    import tempfile
    import time

    from csmoe.io import write_parquet
    from csmoe.sampling.io import read_set
    from csmoe.sampling.stratified import ga_params, ga_sample
    from csmoe.tracking import stage_run

    params, seed = _settings(args)
    ga = ga_params(params)
    with stage_run("sampling", "ga", params={**params, "seed": seed}) as run:
        start = time.monotonic()
        archive = read_set(args.archive)
        sample, info = ga_sample(
            archive,
            params.get("target_per_stratum", 100),
            ga,
            seed,
            cell_km=params.get("grid_km", 10.0),
            workers=params.get("workers", 1),
            source=args.archive,
        )
        write_parquet(args.out, sample)
        sampled = info[info["generations"] > 0]
        run.log_metrics(
            {
                "tiles": len(sample),
                "strata": len(info),
                "strata_ga": len(sampled),
                "fitness_mean": float(sampled["fitness"].mean()) if len(sampled) else 0.0,
                "fitness_gain_mean": float((sampled["fitness"] - sampled["initial_fitness"]).mean())
                if len(sampled)
                else 0.0,
                "evaluations": int(info["evaluations"].sum()),
                "seconds": time.monotonic() - start,
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ga_strata.csv"
            info.to_csv(path, index=False)
            run.log_artifact(path)
    return 0


def _random(args: argparse.Namespace) -> int:
    from csmoe.io import write_parquet
    from csmoe.sampling.io import read_set
    from csmoe.sampling.stratified import counts_of, random_sample
    from csmoe.tracking import stage_run

    params, seed = _settings(args)
    with stage_run("sampling", "random", params={**params, "seed": seed}) as run:
        counts = counts_of(read_set(args.mtom_mu))
        sample = random_sample(read_set(args.archive), counts, seed, source=args.archive)
        write_parquet(args.out, sample)
        run.log_metrics({"tiles": len(sample), "strata": len(counts)})
    return 0


def _table2(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.sampling.io import read_set
    from csmoe.sampling.table2 import SETS, build_table
    from csmoe.tracking import stage_run

    params, seed = _settings(args)
    cfg = params.get("table2") or {}
    with stage_run("sampling", "table2", params={**params, "seed": seed}) as run:
        frames = {name: read_set(getattr(args, name)) for name in SETS}
        table = build_table(
            frames,
            seed,
            exact_max=cfg.get("exact_pairs_max", 5000),
            n_pairs=cfg.get("pair_sample", 2_000_000),
        )
        write_csv(args.out, table)
        run.log_metrics(
            {
                f"{row.statistic}.{name}": getattr(row, name)
                for row in table.itertuples()
                for name in SETS
            }
        )
        run.log_artifact(args.out)
    return 0


def _fig3(args: argparse.Namespace) -> int:
    from csmoe.io import save_figure
    from csmoe.sampling.fig3 import make_figure
    from csmoe.sampling.io import read_set
    from csmoe.tracking import stage_run

    params, seed = _settings(args)
    with stage_run("sampling", "fig3", params={**params, "seed": seed}) as run:
        samples = {"MTomr (random)": read_set(args.mtom_r), "MTomμ (GA)": read_set(args.mtom_mu)}
        fig = make_figure(read_set(args.archive), samples, seed)
        save_figure(args.out, fig, dpi=120)
        run.log_artifact(args.out)
    return 0
