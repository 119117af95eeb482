from __future__ import annotations

import numpy as np
import pytest

from csmoe.errors import InputError
from csmoe.evaluation import knn_probe
from csmoe.evaluation.knn_probe import knn_scores, probe
from csmoe.evaluation.metrics import average_accuracy, map_micro


def test_hand_count_multiclass_vote():
    # 2-D features; the test point (1, 0) has cosine 1, 0.8, 0.6 with the first three
    train = np.array([[2.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    y = np.array([0, 1, 1, 2, 0])
    votes = knn_scores(train, y, np.array([[1.0, 0.0]]), 3, "multiclass", 3)
    # k = 3 neighbours: class 0 weight 1, class 1 weight 0.8 + 0.6 = 1.4
    assert votes[0] == pytest.approx([1 / 2.4, 1.4 / 2.4, 0])
    # k = 1: the most similar alone
    assert knn_scores(train, y, np.array([[1.0, 0.0]]), 1, "multiclass", 3)[0].argmax() == 0


def test_hand_count_multilabel_weighted_label_mean():
    train = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    y = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0]])
    votes = knn_scores(train, y, np.array([[1.0, 0.0]]), 2, "multilabel", 3)
    # neighbours 0 (cos 1) and 1 (cos 0.6): label means weighted 1 : 0.6
    assert votes[0] == pytest.approx([1.6 / 1.6, 0.6 / 1.6, 1 / 1.6])
    assert (votes[0] >= 0.5).tolist() == [True, False, True]  # the predicted label set


def _brute_force(train, y, test, k, kind, c):
    """Per test sample: sort every training sample by cosine similarity, vote by hand."""
    out = []
    for q in test:
        sims = [float(q @ t / np.linalg.norm(q) / np.linalg.norm(t)) for t in train]
        nearest = sorted(range(len(train)), key=lambda i: -sims[i])[:k]
        totals = np.zeros(c)
        weight = 0.0
        for i in nearest:
            w = max(sims[i], 0.0)
            weight += w
            if kind == "multiclass":
                totals[y[i]] += w
            else:
                totals += w * y[i]
        out.append(totals / weight)
    return np.array(out)


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_equals_brute_force_and_chunks_do_not_matter(kind, monkeypatch):
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(40, 5)) + 1, rng.normal(size=(13, 5)) + 1
    y = rng.integers(0, 4, 40) if kind == "multiclass" else rng.random((40, 4)) < 0.4
    want = _brute_force(train, y, test, 5, kind, 4)
    assert knn_scores(train, y, test, 5, kind, 4) == pytest.approx(want)
    monkeypatch.setattr(knn_probe, "_BLOCK_VALUES", 3 * 40)  # three queries per chunk
    assert knn_scores(train, y, test, 5, kind, 4) == pytest.approx(want)


def test_probe_scores_the_task_metric_and_keeps_predictions():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 6)) * 3
    feats, labels = {}, {}
    for split, n in (("train", 60), ("valid", 20), ("test", 30)):
        labels[split] = rng.integers(0, 3, n)
        feats[split] = centres[labels[split]] + rng.normal(size=(n, 6))
    out, samples = probe(feats, labels, "multiclass", 3, 5, absent_policy="keep", where="t")
    assert samples["pred"].shape == (1, 30) and len(out["test_seeds"]) == 1
    assert out["test_seeds"][0] == pytest.approx(
        average_accuracy(labels["test"], samples["pred"][0], 3)
    )
    assert out["test_seeds"][0] > 90  # well separated classes
    multi = {
        s: np.eye(3, dtype=bool)[v] | (rng.random((len(v), 3)) < 0.1) for s, v in labels.items()
    }
    out, samples = probe(feats, multi, "multilabel", 3, 5, absent_policy="keep", where="t")
    assert out["test_seeds"][0] == pytest.approx(map_micro(multi["test"], samples["scores"][0]))


def test_k_larger_than_the_training_split_is_a_clear_error():
    feats = {s: np.ones((4, 2)) for s in ("train", "valid", "test")}
    labels = {s: np.array([0, 1, 0, 1]) for s in feats}
    with pytest.raises(InputError, match=r"m-eurosat \(valid split\).*k = 5"):
        probe(feats, labels, "multiclass", 2, 5, absent_policy="keep", where="m-eurosat")
