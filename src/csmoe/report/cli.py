"""``csmoe report ...``: Tables IV-VI, the sampling ablation and Figs. 5-8 from the evaluation
JSON files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from csmoe.config import add_config_arguments, resolve_params


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="result tables and figures")
    rsub = parser.add_subparsers(dest="report_command", required=True)

    def command(name: str, func: Any, help_: str) -> argparse.ArgumentParser:
        p = rsub.add_parser(name, help=help_)
        add_config_arguments(p, "report")
        p.set_defaults(func=func)
        return p

    p = command("table4", _table4, "patch-size sweep (Table IV) and Figs. 6/7")
    p.add_argument("--inputs", nargs="+", required=True, help="probe result JSON files")
    p.add_argument("--out", required=True, help="table4.csv")
    p.add_argument("--strategy", default="cls", help="[CLS] strategy of the classification scores")
    p.add_argument("--fig6", help="classification scores vs GFLOPs (PNG)")
    p.add_argument("--fig7", help="segmentation scores vs GFLOPs (PNG)")

    p = command("table5", _table5, "[CLS] strategies (Table V)")
    p.add_argument("--inputs", nargs="+", required=True, help="probe result JSON files")
    p.add_argument("--variant", required=True)
    p.add_argument("--out", required=True, help="table5.csv")

    p = command("table6", _table6, "CBIR (Table VI)")
    p.add_argument("--inputs", nargs="+", required=True, help="CBIR result JSON files")
    p.add_argument("--out", required=True, help="table6.csv")

    p = command("table-sampling", _table_sampling, "sampling ablation: MTomμ vs MTomr")
    p.add_argument("--probes", nargs="+", required=True, help="probe result JSON files")
    p.add_argument("--cbir", nargs="+", required=True, help="CBIR result JSON files")
    p.add_argument("--strategy", default="cls", help="[CLS] strategy of the classification scores")
    p.add_argument("--out", required=True, help="table_sampling.csv")

    p = command("fig5", _fig5, "checkpoint sweep (Fig. 5) and its CSV")
    p.add_argument("--inputs", nargs="+", required=True, help="probe result JSON files")
    p.add_argument("--history", required=True, help="history.csv of the swept variant")
    p.add_argument("--variant", required=True)
    p.add_argument("--csv", required=True, help="fig5.csv")
    p.add_argument("--png", required=True, help="fig5.png")

    p = command("fig8", _fig8, "segmentation examples (Fig. 8)")
    p.add_argument("--examples", nargs="+", required=True, help="upernet_examples.npz files")
    p.add_argument("--out", required=True, help="fig8.png")

    p = command("knn", _knn, "kNN-probe table (classification tasks, per variant and k)")
    p.add_argument("--inputs", nargs="+", required=True, help="knn{k}.json result files")
    p.add_argument("--out", required=True, help="table_knn.csv")

    p = command("comparisons", _comparisons, "paired-bootstrap differences of variant pairs")
    p.add_argument(
        "--inputs", nargs="+", required=True, help="probe and CBIR result JSONs (.npz beside)"
    )
    p.add_argument("--out", required=True, help="comparisons.csv")

    p = command("view", _view, "HTML view of a CSV table (for the Snakemake report)")
    p.add_argument("--csv", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--out", required=True, help="the .html view")


def _log(name: str, outputs: list[str | None], params: dict[str, Any], inputs: list[str]) -> None:
    from csmoe.tracking import stage_run

    with stage_run("report", name, params={"report": params, "n_inputs": len(inputs)}) as run:
        for out in outputs:
            if out:
                run.log_artifact(out)


def _table4(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.report import paper
    from csmoe.report.collect import probe_frame
    from csmoe.report.figures import fig_vs_flops
    from csmoe.report.intervals import add_intervals
    from csmoe.report.tables import probe_selection, table4

    params = resolve_params(args)
    probe = probe_frame(args.inputs)
    table = table4(probe, strategy=args.strategy)
    table = add_intervals(table, probe_selection(probe, args.strategy)[0], ["variant"])
    write_csv(args.out, table)
    for path, tasks, title in (
        (args.fig6, paper.CLASSIFICATION_TASKS, "Fig. 6: classification vs FLOPs"),
        (args.fig7, paper.SEGMENTATION_TASKS, "Fig. 7: segmentation vs FLOPs"),
    ):
        if path:
            fig_vs_flops(table, tasks, path, title=title)
    _log("table4", [args.out, args.fig6, args.fig7], params, args.inputs)
    return 0


def _table5(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.report.collect import probe_frame
    from csmoe.report.intervals import add_intervals
    from csmoe.report.tables import table5

    params = resolve_params(args)
    probe = probe_frame(args.inputs)
    table = table5(probe, variant=args.variant)
    write_csv(args.out, add_intervals(table, probe, ["variant", "strategy"]))
    _log("table5", [args.out], params, args.inputs)
    return 0


def _table6(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.report.collect import cbir_frame
    from csmoe.report.intervals import add_intervals
    from csmoe.report.tables import table6

    params = resolve_params(args)
    cbir = cbir_frame(args.inputs)
    write_csv(args.out, add_intervals(table6(cbir), cbir, ["variant"]))
    _log("table6", [args.out], params, args.inputs)
    return 0


def _table_sampling(args: argparse.Namespace) -> int:
    import pandas as pd

    from csmoe.io import write_csv
    from csmoe.report.collect import cbir_frame, probe_frame
    from csmoe.report.intervals import add_intervals
    from csmoe.report.tables import probe_selection, table_sampling

    params = resolve_params(args)
    probe, cbir = probe_frame(args.probes), cbir_frame(args.cbir)
    table = table_sampling(probe, cbir, strategy=args.strategy)
    # the difference rows have no result of their own: their paired interval is in
    # comparisons.csv (report.comparisons)
    long = pd.concat([probe_selection(probe, args.strategy)[0], cbir], ignore_index=True)
    write_csv(args.out, add_intervals(table, long, ["variant"]))
    _log("table_sampling", [args.out], params, [*args.probes, *args.cbir])
    return 0


def _fig5(args: argparse.Namespace) -> int:
    import pandas as pd

    from csmoe.errors import InputError
    from csmoe.evaluation.sweep import summarise, uncertainty
    from csmoe.io import write_csv
    from csmoe.report.collect import probe_frame, sweep_results
    from csmoe.report.figures import fig5

    params = resolve_params(args)
    probe = probe_frame(args.inputs)
    numbered = probe[probe["epoch"].astype(str) != "final"].astype({"epoch": int})
    if numbered.empty:
        raise InputError(args.inputs[0], "no numbered checkpoint among the sweep results")
    history = pd.read_csv(args.history)
    if not {"epoch", "val_loss"} <= set(history.columns):
        raise InputError(args.history, "history needs the columns epoch and val_loss")
    summary = summarise(numbered, history)
    summary = summary.merge(uncertainty(*sweep_results(numbered)), on="epoch", how="left")
    write_csv(args.csv, summary)
    fig5(summary, args.png, variant=args.variant)
    _log("fig5", [args.csv, args.png], params, args.inputs)
    return 0


def _fig8(args: argparse.Namespace) -> int:
    import numpy as np

    from csmoe.errors import InputError
    from csmoe.report.figures import fig8

    params = resolve_params(args)
    loaded = {}
    for path in args.examples:
        with np.load(path) as data:
            loaded[str(data["variant"])] = {k: data[k] for k in data.files}
    first = next(iter(loaded.values()))
    for name, data in loaded.items():
        if data["truth"].shape != first["truth"].shape:
            raise InputError(name, "examples are not the same test scenes as the other variants")
    fig8(
        first["rgb"],
        first["truth"],
        {name: data["prediction"] for name, data in loaded.items()},
        int(first["num_classes"]),
        args.out,
        task=str(first["task"]),
    )
    _log("fig8", [args.out], params, [str(Path(p)) for p in args.examples])
    return 0


def _knn(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.report.collect import probe_frame
    from csmoe.report.intervals import add_intervals
    from csmoe.report.knn import table_knn

    params = resolve_params(args)
    probe = probe_frame(args.inputs)
    write_csv(args.out, add_intervals(table_knn(probe), probe, ["variant", "strategy"]))
    _log("table_knn", [args.out], params, args.inputs)
    return 0


def _comparisons(args: argparse.Namespace) -> int:
    from csmoe.io import write_csv
    from csmoe.report.comparisons import comparisons

    params = resolve_params(args)
    pairs = [(c["a"], c["b"]) for c in params.get("comparisons", [])]
    write_csv(args.out, comparisons(pairs, args.inputs))
    _log("comparisons", [args.out], params, args.inputs)
    return 0


def _view(args: argparse.Namespace) -> int:
    from csmoe.report.views import render

    render(args.csv, args.out, title=args.title)
    return 0
