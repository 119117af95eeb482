"""``csmoe pretrain run``: pretrain one variant (launching its own processes when needed)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, load_config
from csmoe.log import get_logger


def register(sub: Any) -> None:
    parser = sub.add_parser("pretrain", help="pretrain CSMoE / CSMAE variants")
    psub = parser.add_subparsers(dest="pretrain_command", required=True)
    run = psub.add_parser(
        "run",
        help="train one variant; resumes from its state folder",
        description="Train one variant of config['variants'] on its patch store. Starts "
        "`accelerate launch` itself for several processes (GPUs, or CPU processes with --cpu), "
        "and `srun` across nodes when pretrain.nodes > 1. --params takes the variant bundle "
        "a rule passes (csmoe.train.variants.variant_bundle); --config builds it.",
    )
    run.add_argument("--variant", required=True, help="name in config['variants']")
    add_config_arguments(run, "variants")
    run.add_argument("--store", help="patch store (default results/patches/{set}/store.zarr)")
    run.add_argument("--stats", help="its stats.json (default next to the store)")
    run.add_argument("--out", help="output folder (default results/pretrain/{variant})")
    run.add_argument("--state", help="state folder (default results/.state/pretrain/{variant})")
    run.add_argument("--cpu", action="store_true", help="train on CPU even if GPUs are present")
    run.add_argument(
        "--num-processes",
        type=int,
        help="processes (default: pretrain.gpus, or pretrain.cpu_processes on CPU)",
    )
    run.add_argument(
        "--print-launch", action="store_true", help="print the launch command and exit"
    )
    run.set_defaults(func=_run)

    store = psub.add_parser(
        "benv2-store",
        help="BigEarthNet-v2 pairs as a pretraining patch store (train_set: benv2)",
        description="Write the S1+S2 pairs of one BigEarthNet-v2 subset and split "
        "(benv2_train_set) in the patch store format, for variants with train_set: benv2.",
    )
    store.add_argument("--benv2", required=True, help="BigEarthNet-v2 root (metadata.parquet)")
    store.add_argument("--store", required=True, help="output store.zarr")
    store.add_argument("--stats", required=True, help="output stats.json")
    store.add_argument("--seed", type=int, default=0, help="global seed (default: 0)")
    store.add_argument("--layout", help="JSON of data.extract (store layout; default: --config's)")
    add_config_arguments(store, "benv2_train_set")
    store.set_defaults(func=_benv2_store)


def _bundle(args: argparse.Namespace) -> dict[str, Any]:
    """``--params`` is the rule's variant bundle; ``--config`` builds it from a full config."""
    from csmoe.config import resolve_params
    from csmoe.train.variants import variant_bundle

    if args.params:
        return resolve_params(args)
    return variant_bundle(load_config(args.config), args.variant)


def _run(args: argparse.Namespace) -> int:
    from csmoe.train.launch import CHILD_ENV
    from csmoe.train.variants import resolve_variant

    bundle = _bundle(args)
    job = resolve_variant(bundle)
    s = job.settings
    cpu = args.cpu or s["gpus"] == 0
    nprocs = args.num_processes or (s["cpu_processes"] if cpu else s["gpus"])
    store = Path(args.store or f"results/patches/{job.train_set}/store.zarr")
    paths = {
        "store": store,
        "stats": Path(args.stats or store.parent / "stats.json"),
        "out": Path(args.out or f"results/pretrain/{job.variant}"),
        "state": Path(args.state or f"{s['state_dir']}/{job.variant}"),
    }
    child = [
        "--log-level",
        args.log_level,
        "pretrain",
        "run",
        "--variant",
        job.variant,
        "--params",
        json.dumps(bundle, sort_keys=True),
        *[f"--{k}={v}" for k, v in paths.items()],
        f"--num-processes={nprocs}",
        *(["--cpu"] if cpu else []),
    ]
    if os.environ.get(CHILD_ENV) or (cpu and nprocs == 1 and s["nodes"] == 1):
        if args.print_launch:
            print("(in-process)")
            return 0
        return _train(job, paths, cpu, max(1, job.threads // nprocs))
    if s["nodes"] > 1:
        return _launch_nodes(child, s["nodes"], nprocs, cpu, args.print_launch)
    return _launch_local(child, nprocs, cpu, s["mixed_precision"], args.print_launch)


def _launch_local(child: list[str], nprocs: int, cpu: bool, mixed_precision: str, dry: bool) -> int:
    """``accelerate launch`` on this machine, on leased GPUs (or CPU processes)."""
    from csmoe.train.launch import (
        CHILD_ENV,
        check_devices,
        free_port,
        launch_command,
        lease_gpus,
        run_child,
    )

    cmd = launch_command(
        child,
        num_processes=nprocs,
        mixed_precision="no" if cpu else mixed_precision,
        port=free_port(),
    )
    if dry:  # also on a login node without GPUs
        print(shlex.join(cmd))
        return 0
    available = 0 if cpu else _gpu_count()
    check_devices(nprocs, cpu, available)
    with lease_gpus(0 if cpu else nprocs, available) as visible:
        env = {**os.environ, CHILD_ENV: "1"}
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        return run_child(cmd, env)


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def _launch_nodes(child: list[str], nodes: int, nprocs: int, cpu: bool, dry: bool) -> int:
    """Across machines: first ``srun`` one task per machine rank; each task then launches
    its ``nprocs`` processes (GPUs, or CPU processes talking gloo)."""
    from csmoe.errors import ConfigError
    from csmoe.train.launch import CHILD_ENV, machine_command, run_child, srun_command

    env = dict(os.environ)
    if "SLURM_JOB_ID" not in env:
        raise ConfigError(f"pretrain.nodes = {nodes} needs a SLURM allocation (run via srun)")
    if "SLURM_STEP_ID" not in env:  # the batch script: start the tasks
        cmd = srun_command(nodes, int(env.get("SLURM_JOB_NUM_NODES", nodes)), child)
        what = f"{nodes} machine ranks"
    else:
        main_ip = env.get("MASTER_ADDR") or _first_host(env["SLURM_JOB_NODELIST"])
        cmd = machine_command(
            env, child, processes_per_machine=nprocs, machines=nodes, main_ip=main_ip, cpu=cpu
        )
        env[CHILD_ENV] = "1"
        what = f"machine rank {env['SLURM_PROCID']} of {nodes} ({nprocs} process(es))"
    if dry:
        print(shlex.join(cmd))
        return 0
    get_logger(__name__).info("starting %s: %s", what, shlex.join(cmd))
    return run_child(cmd, env)


def _first_host(nodelist: str) -> str:
    out = subprocess.run(
        ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[0]


def _train(job: Any, paths: dict[str, Path], cpu: bool, threads: int) -> int:
    import torch

    from csmoe.io import check_writable
    from csmoe.train.data import open_store
    from csmoe.train.loop import run_pretraining
    from csmoe.train.state import StateDir

    for folder in (paths["out"], paths["state"]):
        check_writable(folder)
    torch.set_num_threads(threads)
    train_set, val_set, norm_stats = open_store(paths["store"], paths["stats"])
    run_pretraining(
        job, train_set, val_set, norm_stats, paths["out"], StateDir(paths["state"]), cpu=cpu
    )
    return 0


def _benv2_store(args: argparse.Namespace) -> int:
    import time

    from csmoe.config import resolve_params, section
    from csmoe.tracking import stage_run
    from csmoe.train.benv2_store import build_benv2_store

    params = resolve_params(args)
    if args.layout:
        layout = json.loads(args.layout)
    else:
        layout = section(load_config(args.config), "data.extract")
    with stage_run("data", "benv2-store", params={**params, "seed": args.seed}) as run:
        start = time.perf_counter()
        stats = build_benv2_store(args.benv2, args.store, args.stats, params, layout, args.seed)
        run.log_metrics(
            {
                "pairs_in": stats["pairs_in"],
                "patches_written": stats["patches_written"],
                "patches_dropped": stats["patches_dropped"]["nonfinite"],
                "seconds": time.perf_counter() - start,
            }
        )
        run.log_artifact(args.stats)
    return 0
