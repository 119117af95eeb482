"""Checkpoint sweep (paper Fig. 5): normalised downstream performance per epoch.

For every task, the score of a checkpoint is divided by the best score of that task over all
checkpoints (so each task peaks at 100 %); the mean and standard deviation across tasks then
summarise one epoch, beside the pretraining validation loss of that epoch. :func:`uncertainty`
adds the spread of that mean over head seeds and its bootstrap interval over test samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from csmoe.evaluation.bootstrap import (
    BootstrapConfig,
    Scores,
    percentile_interval,
    resample_weights,
)
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


@dataclass
class SweepResult:
    """One task at one checkpoint: the score per head seed and the per-sample results."""

    epoch: int
    task: str
    seeds: list[float]
    scores: Scores


def uncertainty(results: list[SweepResult], cfg: BootstrapConfig) -> Any:
    """Per epoch, the spread of the mean normalised score: ``mean_std`` over head seeds (each
    seed's scores normalised by that seed's best epoch) and the bootstrap interval
    ``mean_ci_low`` / ``mean_ci_high`` (each resample's scores normalised by that resample's
    best epoch; every epoch of a task sees the same resamples, keyed by the task)."""
    import pandas as pd

    epochs = sorted({r.epoch for r in results})
    tasks = sorted({r.task for r in results})
    n_seeds = {len(r.seeds) for r in results}
    if len(n_seeds) != 1:
        raise ValueError(f"sweep results have different numbers of seeds: {sorted(n_seeds)}")
    per_seed = np.zeros((n_seeds.pop(), len(epochs)))
    resampled = np.zeros((cfg.resamples, len(epochs)))
    used = 0
    for task in tasks:
        by_epoch = {r.epoch: r for r in results if r.task == task}
        if sorted(by_epoch) != epochs:
            raise ValueError(f"task {task!r} lacks epochs {sorted(set(epochs) - set(by_epoch))}")
        seed_scores = np.array([by_epoch[e].seeds for e in epochs]).T  # [S, E]
        if seed_scores.max() <= 0:  # scores 0 everywhere: left out, as in normalise()
            continue
        used += 1
        per_seed += 100.0 * seed_scores / seed_scores.max(1, keepdims=True)
        n = by_epoch[epochs[0]].scores.n
        blocks = [
            np.stack([by_epoch[e].scores.score(w).mean(0) for e in epochs], axis=1)
            for w in resample_weights(n, cfg, task)
        ]
        boot = np.concatenate(blocks)  # [resamples, E]
        with np.errstate(invalid="ignore", divide="ignore"):
            resampled += 100.0 * boot / boot.max(1, keepdims=True)
    if used == 0:
        raise ValueError(f"no task has a positive score: cannot normalise {tasks}")
    per_seed /= used
    resampled /= used
    rows = []
    for i, epoch in enumerate(epochs):
        ci = percentile_interval(resampled[:, i], cfg.confidence)
        std = float(per_seed[:, i].std(ddof=1)) if len(per_seed) > 1 else float("nan")
        rows.append(
            {
                "epoch": epoch,
                "mean_std": std,
                "mean_ci_low": ci["ci_low"],
                "mean_ci_high": ci["ci_high"],
            }
        )
    return pd.DataFrame(rows)
