"""Figures 5-8. Our results are drawn in colour; the paper's values, where shown, as grey
markers labelled ``paper``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.io import save_figure
from csmoe.report import paper


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fig5(summary: Any, path: str | Path, *, variant: str) -> None:
    """Mean ± std of the normalised scores per epoch, validation loss on a second axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ep, mean, std = summary["epoch"], summary["mean"], summary["std"]
    ax.plot(ep, mean, "o-", color="tab:blue", label=f"{variant}: mean normalised score")
    ax.fill_between(ep, mean - std, mean + std, color="tab:blue", alpha=0.2, label="± std (tasks)")
    if "mean_ci_low" in summary:
        # the interval as it is (a percentile interval need not be centred on the mean)
        ax.vlines(
            ep,
            summary["mean_ci_low"],
            summary["mean_ci_high"],
            color="black",
            label="95 % bootstrap CI",
        )
    # the paper's epochs (50-800) dwarf a CPU run's: shown on the axis only where they fit
    shown = {e: v for e, v in paper.FIG5_MEAN.items() if e <= 1.5 * ep.max()}
    if shown:
        ax.plot(*zip(*shown.items(), strict=True), "s", color="grey", label="paper (mean)")
    note = ", ".join(f"{v}% @ {e}" for e, v in paper.FIG5_MEAN.items())
    ax.text(
        0.02, 0.02, f"paper (p=16, mean): {note}", transform=ax.transAxes, fontsize=7, color="grey"
    )
    ax.set_xlabel("pretraining epoch")
    ax.set_ylabel("normalised score (%)")
    handles, labels = ax.get_legend_handles_labels()
    if "val_loss" in summary and summary["val_loss"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(ep, summary["val_loss"], "^--", color="tab:red", label="validation loss")
        ax2.set_ylabel("validation loss")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="upper left")
    ax.set_title("Fig. 5: downstream performance vs training length")
    fig.tight_layout()
    save_figure(path, fig, dpi=120)
    plt.close(fig)


def fig_vs_flops(table: Any, tasks: Sequence[str], path: str | Path, *, title: str) -> None:
    """One panel per task: score vs GFLOPs (log x) for our variants and the paper's points."""
    plt = _plt()
    cols = min(2, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        ours = table[table[task].notna()] if task in table else table.iloc[:0]
        ax.scatter(ours["gflops"], ours[task], color="tab:blue", zorder=3, label="ours")
        if f"{task}_ci_low" in ours:
            ax.vlines(
                ours["gflops"],
                ours[f"{task}_ci_low"],
                ours[f"{task}_ci_high"],
                color="tab:blue",
                label="95 % bootstrap CI",
            )
        for _, row in ours.iterrows():
            ax.annotate(row["variant"], (row["gflops"], row[task]), fontsize=7)
        ref = {paper.MODELS[v].label: (r["gflops"], r[task]) for v, r in paper.TABLE4.items()}
        ref |= {
            name: (g, scores[task]) for name, (g, scores) in paper.PEERS.items() if task in scores
        }
        ax.scatter(*zip(*ref.values(), strict=True), marker="s", color="grey", label="paper")
        for name, xy in ref.items():
            ax.annotate(f"paper {name}", xy, fontsize=6, color="grey")
        ax.legend(fontsize=7, loc="lower right")
        ax.set_xscale("log")
        ax.set_xlabel("GFLOPs (GMACs per image)")
        ax.set_ylabel("score (%)")
        ax.set_title(task, fontsize=9)
    for ax in axes.flat[len(tasks) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(path, fig, dpi=120)
    plt.close(fig)


def rgb_stretch(rgb: np.ndarray) -> np.ndarray:
    """[..., 3] reflectance -> [0, 1] by a 2-98 % percentile stretch (for display only)."""
    lo, hi = np.nanpercentile(rgb, [2, 98])
    return np.clip((rgb - lo) / max(hi - lo, 1e-6), 0, 1)


def fig8(
    rgb: np.ndarray,
    truth: np.ndarray,
    predictions: dict[str, np.ndarray],
    num_classes: int,
    path: str | Path,
    *,
    task: str,
) -> None:
    """Rows = test scenes; columns = input RGB, ground truth, one prediction per variant."""
    plt = _plt()
    n = len(rgb)
    cols = 2 + len(predictions)
    fig, axes = plt.subplots(n, cols, figsize=(2.2 * cols, 2.2 * n), squeeze=False)
    kw = {"cmap": "tab10" if num_classes <= 10 else "tab20", "vmin": 0, "vmax": num_classes - 1}
    for i in range(n):
        panels = [("input RGB", rgb_stretch(rgb[i]), {}), ("ground truth", truth[i], kw)]
        panels += [(name, pred[i], kw) for name, pred in predictions.items()]
        for ax, (label, img, style) in zip(axes[i], panels, strict=True):
            ax.imshow(img, interpolation="nearest", **style)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(label, fontsize=8)
    fig.suptitle(f"Fig. 8: {task} test scenes")
    fig.tight_layout()
    save_figure(path, fig, dpi=100)
    plt.close(fig)
