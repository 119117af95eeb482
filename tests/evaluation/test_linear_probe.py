from __future__ import annotations

import numpy as np
import pytest

from csmoe.errors import InputError
from csmoe.evaluation.linear_probe import LinearConfig, probe

CFG = LinearConfig(epochs=30, batch_size=32, lr=1e-2)


def _multiclass(rng, n, centres):
    y = rng.integers(0, len(centres), n)
    return centres[y] + 0.3 * rng.normal(size=(n, centres.shape[1])), y


def test_multiclass_probe_learns_separable_classes():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 6)) * 3
    data = {
        s: _multiclass(rng, n, centres) for s, n in (("train", 200), ("valid", 50), ("test", 80))
    }
    out = probe(
        {s: d[0] for s, d in data.items()},
        {s: d[1] for s, d in data.items()},
        "multiclass",
        4,
        CFG,
        seed=0,
        absent_policy="keep",
        where="task",
    )
    assert out["test"] > 95 and out["absent_train_classes"] == []


def test_multilabel_probe_beats_chance_and_is_deterministic():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 5))
    feats = {s: rng.normal(size=(n, 6)) for s, n in (("train", 300), ("valid", 50), ("test", 100))}
    labels = {s: (f @ w) > 0.5 for s, f in feats.items()}
    kwargs = dict(seed=3, absent_policy="keep", where="t")
    a = probe(feats, labels, "multilabel", 5, CFG, **kwargs)
    b = probe(feats, labels, "multilabel", 5, CFG, **kwargs)
    prevalence = 100 * labels["test"].mean()
    assert a["test"] > prevalence + 30
    assert a == b


def test_class_absent_from_training_is_reported_or_refused():
    rng = np.random.default_rng(2)
    centres = np.eye(3) * 4
    feats, labels = {}, {}
    for split, n in (("train", 90), ("valid", 30), ("test", 60)):
        x, y = _multiclass(rng, n, centres)
        if split == "train":
            x, y = x[y != 2], y[y != 2]  # class 2 never seen in training
        feats[split], labels[split] = x, y
    kwargs = dict(seed=0, where="m-eurosat")
    keep = probe(feats, labels, "multiclass", 3, CFG, absent_policy="keep", **kwargs)
    drop = probe(feats, labels, "multiclass", 3, CFG, absent_policy="drop", **kwargs)
    assert keep["absent_train_classes"] == [2] and drop["scored_classes"] == [0, 1]
    # same head (same seed): the two scores differ only by class 2's recall
    assert drop["test"] > 95 and keep["test"] != drop["test"]
    with pytest.raises(InputError, match="m-eurosat"):
        probe(feats, labels, "multiclass", 3, CFG, absent_policy="error", **kwargs)
