from __future__ import annotations

import pandas as pd
import pytest

from csmoe.evaluation.sweep import normalise, summarise


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
