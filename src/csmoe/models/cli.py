"""``csmoe complexity`` (params, GFLOPs, C2C of one model) and ``csmoe models table1``."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from csmoe.config import add_config_arguments, resolve_params


def register(sub: Any) -> None:
    cx = sub.add_parser(
        "complexity",
        help="parameters, GFLOPs (MACs) per image and C2C of CSMoE/CSMAE",
        description="Count a model as Tables I/IV do (scope from config models.complexity).",
    )
    cx.add_argument("--model", default="csmoe", help="entry of models.complexity (csmoe, csmae)")
    cx.add_argument("--patch-size", type=int, help="override the preset's patch size")
    cx.add_argument("--preset", help="override the entry's model preset")
    cx.add_argument(
        "--verify", action="store_true", help="also count the real module with the flop counter"
    )
    cx.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_config_arguments(cx, "models")
    cx.set_defaults(func=cmd_complexity)

    group = sub.add_parser("models", help="model stage: Table I")
    cmds = group.add_subparsers(dest="models_command", required=True, metavar="COMMAND")
    t1 = cmds.add_parser("table1", help="write Table I (our counts beside the paper's)")
    t1.add_argument("--output", required=True, help="CSV to write (e.g. results/table1.csv)")
    add_config_arguments(t1, "models")
    t1.set_defaults(func=cmd_table1)


def cmd_complexity(args: argparse.Namespace) -> int:
    from csmoe.models.table1 import measured_row

    models = resolve_params(args)
    spec: dict[str, Any] = {"model": args.model, "count": args.model}
    if args.patch_size:
        spec["patch_size"] = args.patch_size
    paper = {} if args.preset else _paper_values(models, spec)
    if args.preset:
        models = _with_preset(models, args.model, args.preset)
    row = measured_row(models, {**spec, **paper}, verify=args.verify)
    if args.json:
        print(json.dumps({k: v for k, v in row.items() if v is not None}, indent=2))
        return 0
    print(
        f"{args.model} p{row['patch_size']} @ {row['img_size']} px: "
        f"{row['params_m']:.2f} M params, {row['gflops']:.3f} GFLOPs (MACs), "
        f"C2C {row['c2c']:.2f}"
    )
    print(f"counted: {row['counted']}")
    if "counter_gflops" in row:
        print(
            f"flop counter on the module: {row['counter_params_m']:.2f} M params, "
            f"{row['counter_gflops']:.3f} GFLOPs"
        )
    if paper:
        print(
            f"paper: {row['paper_params_m']} M, {row['paper_gflops']} GFLOPs, "
            f"C2C {row['paper_c2c']:.2f}; residuals {row['params_residual_pct']:+.1f} % params, "
            f"{row['gflops_residual_pct']:+.1f} % FLOPs"
        )
    return 0


def _with_preset(models: dict[str, Any], name: str, preset: str) -> dict[str, Any]:
    complexity = dict(models.get("complexity", {}))
    complexity[name] = {**complexity.get(name, {}), "preset": preset}
    return {**models, "complexity": complexity}


def _paper_values(models: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The paper's numbers of the Table I row that names the same model and overrides."""
    wanted = {k: v for k, v in spec.items() if k != "model"}
    for row in models.get("table1", {}).get("rows", []):
        same = {k: v for k, v in row.items() if k != "model" and not k.startswith("paper_")}
        if same == wanted and "paper_params_m" in row:
            return {"paper_params_m": row["paper_params_m"], "paper_gflops": row["paper_gflops"]}
    return {}


def cmd_table1(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.models.table1 import build_table1
    from csmoe.tracking import stage_run

    models = resolve_params(args)
    with stage_run("models", "table1", params={"table1": models.get("table1", {})}) as run:
        frame = build_table1(models)
        write_csv(args.output, frame)
        ours = frame[frame["source"] == "ours"]
        run.log_metrics(
            {
                f"{_metric_name(name)}.{col}": float(value)
                for name, sub in ours.set_index("model").iterrows()
                for col, value in sub.items()
                if col in ("params_m", "gflops", "c2c", "gflops_residual_pct")
                and value == value  # skip NaN (rows without paper values)
            }
        )
        run.log_artifact(args.output)
    return 0


def _metric_name(model: str) -> str:
    # MLflow keys allow letters, digits, _ - . / and spaces only
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "", model).strip().replace(" ", "_")
