"""``csmoe evaluate ...``: probing on GEO-Bench tasks and retrieval on BigEarthNet-v2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params


def register(sub: Any) -> None:
    parser = sub.add_parser("evaluate", help="downstream evaluation of a checkpoint")
    esub = parser.add_subparsers(dest="evaluate_command", required=True)

    def command(name: str, func: Any, help_: str) -> argparse.ArgumentParser:
        p = esub.add_parser(name, help=help_)
        add_config_arguments(p, "evaluation")
        p.add_argument("--checkpoint", required=True, help="*.safetensors from pretraining")
        p.add_argument("--variant", required=True, help="variant name (for records and tags)")
        p.add_argument(
            "--bundle",
            help="JSON of the variant's config bundle (csmoe.train.variants.variant_bundle): "
            "the checkpoint must match its model; also gives the seed",
        )
        p.set_defaults(func=func)
        return p

    p = command("probe", _probe, "linear / UPerNet probing of one checkpoint on GEO-Bench tasks")
    p.add_argument("--geobench", required=True, help="GEO-Bench root (holds *_v1.0/)")
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument("--epoch", required=True, help="checkpoint epoch, or 'final'")
    p.add_argument("--out-dir", required=True, help="results/probe/{variant}/{epoch}")

    p = command("cbir", _cbir, "uni- and cross-modal retrieval on BigEarthNet-v2 sets")
    p.add_argument("--benv2", required=True, help="BigEarthNet-v2 root (metadata.parquet)")
    p.add_argument("--sets", nargs="+", required=True, help="keys of evaluation.cbir.sets")
    p.add_argument("--out-dir", required=True, help="results/cbir/{variant}: writes {set}.json")


def _expected(args: argparse.Namespace) -> tuple[dict[str, Any] | None, dict[str, Any], int]:
    """The model the config says this variant is (None without a bundle), what the
    checkpoint must say it is (variant, epoch, and the train set with a bundle), the seed."""
    identity = {"variant": args.variant, "epoch": getattr(args, "epoch", "final")}
    if not args.bundle:
        return None, identity, 0
    from csmoe.errors import ConfigError
    from csmoe.train.variants import resolve_variant

    try:
        bundle = json.loads(args.bundle)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--bundle is not valid JSON: {err}") from err
    job = resolve_variant(bundle)
    if job.variant != args.variant:
        raise ConfigError(f"--bundle is variant {job.variant!r}, --variant {args.variant!r}")
    return job.model, {**identity, "train_set": job.train_set}, int(bundle.get("seed", 0))


def _checkpoint(args: argparse.Namespace) -> tuple[dict[str, Any], Any, int]:
    """The evaluation settings, the checkpoint checked against the variant's config, the seed
    (after refusing an --out-dir that cannot be written, before any work)."""
    from csmoe.evaluation.run import load_checked, resolve_device
    from csmoe.io import check_writable

    check_writable(args.out_dir)
    expected, identity, seed = _expected(args)
    params = resolve_params(args)
    device = resolve_device(params.get("device", "auto"))
    ckpt = load_checked(args.checkpoint, expected, device, identity=identity)
    return params, ckpt, seed


def _probe(args: argparse.Namespace) -> int:
    from csmoe.evaluation.run import probe_task

    params, ckpt, seed = _checkpoint(args)
    for task in args.tasks:  # one process per checkpoint: startup and loading paid once
        probe_task(
            params=params,
            ckpt=ckpt,
            geobench_root=args.geobench,
            task=task,
            variant=args.variant,
            epoch=args.epoch,
            out_dir=Path(args.out_dir) / task,
            seed=seed,
        )
    return 0


def _cbir(args: argparse.Namespace) -> int:
    from csmoe.evaluation.run import cbir_set

    params, ckpt, _ = _checkpoint(args)
    for set_name in args.sets:
        cbir_set(
            params=params,
            ckpt=ckpt,
            benv2_root=args.benv2,
            set_name=set_name,
            variant=args.variant,
            out=Path(args.out_dir) / f"{set_name}.json",
        )
    return 0
