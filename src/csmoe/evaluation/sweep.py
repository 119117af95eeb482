"""Checkpoint sweep (paper Fig. 5): normalised downstream performance per epoch.

For every task, the score of a checkpoint is divided by the best score of that task over all
checkpoints (so each task peaks at 100 %); the mean and standard deviation across tasks then
summarise one epoch, beside the pretraining validation loss of that epoch.
"""

from __future__ import annotations

from typing import Any

from csmoe.log import get_logger

log = get_logger(__name__)


def normalise(scores: Any) -> Any:
    """``scores`` (epoch, task, score) -> same frame plus ``normalized`` in % of the task's best.

    A task that scores 0 at every checkpoint (tiny test splits) has no best to divide by and
    says nothing about which epoch is better: its ``normalized`` is NaN, so the per-epoch
    summary leaves it out (``n_tasks`` counts the tasks used). No task with a positive score
    at all is an error."""
    frame = scores.copy()
    best = frame.groupby("task")["score"].transform("max")
    if not (best > 0).any():
        tasks = sorted(set(frame["task"]))
        raise ValueError(f"no task has a positive score: cannot normalise {tasks}")
    if (best <= 0).any():
        bad = sorted(frame.loc[best <= 0, "task"].unique())
        log.warning("tasks %s score 0 at every checkpoint: left out of the sweep", bad)
    frame["normalized"] = 100.0 * frame["score"] / best.where(best > 0)
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
