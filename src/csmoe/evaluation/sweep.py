"""Checkpoint sweep (paper Fig. 5): normalised downstream performance per epoch.

For every task, the score of a checkpoint is divided by the best score of that task over all
checkpoints (so each task peaks at 100 %); the mean and standard deviation across tasks then
summarise one epoch, beside the pretraining validation loss of that epoch.
"""

from __future__ import annotations

from typing import Any


def normalise(scores: Any) -> Any:
    """``scores`` (epoch, task, score) -> same frame plus ``normalized`` in % of the task's best."""
    frame = scores.copy()
    best = frame.groupby("task")["score"].transform("max")
    if (best <= 0).any():
        bad = sorted(frame.loc[best <= 0, "task"].unique())
        raise ValueError(f"tasks {bad} have no positive score: cannot normalise")
    frame["normalized"] = 100.0 * frame["score"] / best
    return frame


def summarise(scores: Any, history: Any | None = None) -> Any:
    """Per epoch: mean and std (population, ddof=0) of the normalised scores across tasks, the
    number of tasks, and ``val_loss`` from ``history`` (epoch, val_loss) when given."""
    norm = normalise(scores)
    out = (
        norm.groupby("epoch")["normalized"]
        .agg(mean="mean", std=lambda s: float(s.std(ddof=0)), n_tasks="count")
        .reset_index()
        .sort_values("epoch")
    )
    if history is not None:
        out = out.merge(history[["epoch", "val_loss"]], on="epoch", how="left")
    return out.reset_index(drop=True)
