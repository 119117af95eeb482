from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csmoe.evaluation.bootstrap import AccuracyScores, BootstrapConfig
from csmoe.evaluation.sweep import SweepResult, normalise, summarise, uncertainty


def test_normalise_and_summarise_hand_case():
    scores = pd.DataFrame(
        {
            "epoch": [5, 10, 5, 10],
            "task": ["a", "a", "b", "b"],
            "score": [40.0, 50.0, 90.0, 60.0],
        }
    )
    norm = normalise(scores)
    assert norm["normalized"].tolist() == pytest.approx([80, 100, 100, 200 / 3])
    history = pd.DataFrame({"epoch": [1, 5, 10], "val_loss": [3.0, 2.0, 1.5], "x": 0})
    out = summarise(scores, history)
    assert out["epoch"].tolist() == [5, 10]
    assert out["mean"].tolist() == pytest.approx([90, (100 + 200 / 3) / 2])
    assert out["std"].tolist() == pytest.approx([10, (100 - 200 / 3) / 2])
    assert out["val_loss"].tolist() == [2.0, 1.5]
    assert out["n_tasks"].tolist() == [2, 2]


def test_tasks_without_positive_score_are_left_out_of_the_sweep():
    scores = pd.DataFrame(
        {"epoch": [1, 2, 1, 2], "task": ["a", "a", "b", "b"], "score": [0.0, 0.0, 30.0, 60.0]}
    )
    out = summarise(scores)
    assert out["mean"].tolist() == pytest.approx([50, 100])
    assert out["n_tasks"].tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"no task has a positive score.*\['a'\]"):
        normalise(pd.DataFrame({"epoch": [1], "task": ["a"], "score": [0.0]}))


def _sweep_result(epoch, task, labels, pred):
    scores = AccuracyScores(labels=labels, pred=pred, num_classes=2, classes=[0, 1])
    seeds = scores.score(np.ones((1, len(labels))))[:, 0].tolist()
    return SweepResult(epoch=epoch, task=task, seeds=seeds, scores=scores)


def test_uncertainty_leaves_out_a_task_scoring_0_everywhere():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 40)
    useful = [
        _sweep_result(
            e,
            "a",
            labels,
            np.stack([np.where(rng.random(40) < q, labels, 1 - labels) for _ in range(2)]),
        )
        for e, q in ((1, 0.6), (2, 0.9))
    ]
    hopeless = [_sweep_result(e, "z", labels, np.stack([1 - labels] * 2)) for e in (1, 2)]
    assert all(r.seeds == [0.0, 0.0] for r in hopeless)
    cfg = BootstrapConfig(resamples=200)
    alone = uncertainty(useful, cfg)
    pd.testing.assert_frame_equal(uncertainty(useful + hopeless, cfg), alone)
    assert np.isfinite(alone[["mean_std", "mean_ci_low", "mean_ci_high"]].to_numpy()).all()
    with pytest.raises(ValueError, match="no task has a positive score"):
        uncertainty(hopeless, cfg)
