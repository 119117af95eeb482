"""The declared outputs of a pretraining job: published checkpoints, history.csv, loss curve."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from csmoe.io import atomic_path, save_figure, write_csv


def publish(src: Path, dest: Path) -> None:
    """Put the state folder's copy of a checkpoint under its output name, atomically.

    A hard link costs no space and survives Snakemake deleting the output of a killed job;
    across file systems it falls back to a copy.
    """
    if dest.exists() and dest.samefile(src):
        return  # already published (renaming a hard link onto itself would be a no-op)
    with atomic_path(dest) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def write_history(path: Path, history: list[dict[str, Any]]) -> None:
    """One row per finished epoch: epoch, train_* terms, val_* terms, lr, speed."""
    import pandas as pd

    write_csv(path, pd.DataFrame(history))


def plot_history(path: Path, history: list[dict[str, Any]], title: str) -> None:
    """Training and validation loss per epoch, plus each training term on its own scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    terms = sorted(k for k in history[0] if k.startswith("train_") and k != "train_loss")
    fig, (ax_total, ax_terms) = plt.subplots(1, 2, figsize=(10, 4))
    ax_total.plot(epochs, [r["train_loss"] for r in history], marker="o", label="train")
    ax_total.plot(epochs, [r["val_loss"] for r in history], marker="o", label="validation")
    ax_total.set(xlabel="epoch", ylabel="loss (weighted total)", title=title)
    ax_total.legend()
    for term in terms:
        ax_terms.plot(epochs, [r[term] for r in history], label=term.removeprefix("train_"))
    ax_terms.set(xlabel="epoch", ylabel="training term (unweighted)")
    ax_terms.legend(fontsize="small")
    fig.tight_layout()
    save_figure(path, fig, dpi=120)
    plt.close(fig)
