"""``csmoe evaluate ...``: probing on GEO-Bench tasks and retrieval on BigEarthNet-v2."""

from __future__ import annotations

import argparse
import json
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

    p = command("probe", _probe, "linear / UPerNet probing on one GEO-Bench task")
    p.add_argument("--geobench", required=True, help="GEO-Bench root (holds *_v1.0/)")
    p.add_argument("--task", required=True)
    p.add_argument("--epoch", required=True, help="checkpoint epoch, or 'final'")
    p.add_argument("--out-dir", required=True, help="results/probe/{variant}/{epoch}/{task}")

    p = command("cbir", _cbir, "uni- and cross-modal retrieval on one BigEarthNet-v2 set")
    p.add_argument("--benv2", required=True, help="BigEarthNet-v2 root (metadata.parquet)")
    p.add_argument("--set", required=True, dest="set_name", help="a key of evaluation.cbir.sets")
    p.add_argument("--out", required=True, help="results/cbir/{variant}/{set}.json")


def _expected(args: argparse.Namespace) -> tuple[dict[str, Any] | None, int]:
    """The model the config says this variant is, and the seed (None/0 without a bundle)."""
    if not args.bundle:
        return None, 0
    from csmoe.errors import ConfigError
    from csmoe.train.variants import resolve_variant

    try:
        bundle = json.loads(args.bundle)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--bundle is not valid JSON: {err}") from err
    return resolve_variant(bundle).model, int(bundle.get("seed", 0))


def _probe(args: argparse.Namespace) -> int:
    from csmoe.evaluation.run import probe_task

    expected, seed = _expected(args)
    probe_task(
        params=resolve_params(args),
        checkpoint=args.checkpoint,
        expected_model=expected,
        geobench_root=args.geobench,
        task=args.task,
        variant=args.variant,
        epoch=args.epoch,
        out_dir=args.out_dir,
        seed=seed,
    )
    return 0


def _cbir(args: argparse.Namespace) -> int:
    from csmoe.evaluation.run import cbir_set

    expected, _ = _expected(args)
    cbir_set(
        params=resolve_params(args),
        checkpoint=args.checkpoint,
        expected_model=expected,
        benv2_root=args.benv2,
        set_name=args.set_name,
        variant=args.variant,
        out=args.out,
    )
    return 0
