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
    ax.fill_between(ep, mean - std, mean + std, color="tab:blue", alpha=0.2, label="± std")
    ax.plot(*zip(*paper.FIG5_MEAN.items(), strict=True), "s", color="grey", label="paper (mean)")
    ax.set_xlabel("pretraining epoch")
    ax.set_ylabel("normalised score (%)")
    handles, labels = ax.get_legend_handles_labels()
    if "val_loss" in summary and summary["val_loss"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(ep, summary["val_loss"], "^--", color="tab:red", label="validation loss")
        ax2.set_ylabel("validation loss")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="lower right")
    ax.set_title("Fig. 5: downstream performance vs training length")
    fig.tight_layout()
    save_figure(path, fig, dpi=120)
    plt.close(fig)


def fig_vs_flops(table: Any, tasks: Sequence[str], path: str | Path, *, title: str) -> None:
    """One panel per task: score vs GFLOPs (log x) for our variants and the paper's points."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        if task in table:
            for _, row in table.iterrows():
                if row[task] is None or np.isnan(row[task]):
                    continue
                ax.scatter(row["gflops"], row[task], color="tab:blue", zorder=3)
                ax.annotate(row["variant"], (row["gflops"], row[task]), fontsize=7)
        for p, ref in paper.TABLE4.items():
            ax.scatter(ref["gflops"], ref[task], marker="s", color="grey")
            ax.annotate(f"paper CSMoE p{p}", (ref["gflops"], ref[task]), fontsize=6, color="grey")
        for name, (gflops, scores) in paper.PEERS.items():
            if task in scores:
                ax.scatter(gflops, scores[task], marker="D", color="lightgrey")
                ax.annotate(f"paper {name}", (gflops, scores[task]), fontsize=6, color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("GFLOPs (GMACs per image)")
        ax.set_ylabel("score (%)")
        ax.set_title(task, fontsize=9)
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
