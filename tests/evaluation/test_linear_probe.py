from __future__ import annotations

import numpy as np
import pytest

from csmoe.errors import InputError
from csmoe.evaluation.linear_probe import LinearConfig, probe
from csmoe.evaluation.metrics import average_accuracy

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
        seeds=[0],
        absent_policy="keep",
        where="task",
    )[0]
    assert out["test_seeds"][0] > 95 and out["absent_train_classes"] == []


def test_multilabel_probe_beats_chance_and_is_deterministic():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 5))
    feats = {s: rng.normal(size=(n, 6)) for s, n in (("train", 300), ("valid", 50), ("test", 100))}
    labels = {s: (f @ w) > 0.5 for s, f in feats.items()}
    kwargs = dict(seeds=[3], absent_policy="keep", where="t")
    a, a_samples = probe(feats, labels, "multilabel", 5, CFG, **kwargs)
    b, b_samples = probe(feats, labels, "multilabel", 5, CFG, **kwargs)
    prevalence = 100 * labels["test"].mean()
    assert a["test_seeds"][0] > prevalence + 30
    assert a == b and np.array_equal(a_samples["scores"], b_samples["scores"])


def test_class_absent_from_training_is_reported_or_refused():
    rng = np.random.default_rng(2)
    centres = np.eye(3) * 4
    feats, labels = {}, {}
    for split, n in (("train", 90), ("valid", 30), ("test", 60)):
        x, y = _multiclass(rng, n, centres)
        if split == "train":
            x, y = x[y != 2], y[y != 2]  # class 2 never seen in training
        feats[split], labels[split] = x, y
    kwargs = dict(seeds=[0], where="m-eurosat")
    keep, _ = probe(feats, labels, "multiclass", 3, CFG, absent_policy="keep", **kwargs)
    drop, _ = probe(feats, labels, "multiclass", 3, CFG, absent_policy="drop", **kwargs)
    assert keep["absent_train_classes"] == [2] and drop["scored_classes"] == [0, 1]
    # same head (same seed): the two scores differ only by class 2's recall
    assert drop["test_seeds"][0] > 95 and keep["test_seeds"] != drop["test_seeds"]
    with pytest.raises(InputError, match="m-eurosat"):
        probe(feats, labels, "multiclass", 3, CFG, absent_policy="error", **kwargs)


def test_undefined_metric_is_a_clear_error():
    rng = np.random.default_rng(3)
    feats = {s: rng.normal(size=(20, 4)) for s in ("train", "valid", "test")}
    labels = {s: rng.random((20, 3)) < 0.5 for s in feats}
    labels["test"][:] = False  # no positive label: mAP undefined
    with pytest.raises(InputError, match=r"m-bigearthnet \(test split\).*no positive"):
        probe(
            feats,
            labels,
            "multilabel",
            3,
            CFG,
            seeds=[0],
            absent_policy="keep",
            where="m-bigearthnet",
        )


def test_one_head_per_seed_with_its_test_predictions():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(3, 5)) * 2
    data = {
        s: _multiclass(rng, n, centres) for s, n in (("train", 60), ("valid", 20), ("test", 30))
    }
    feats = {s: d[0] for s, d in data.items()}
    labels = {s: d[1] for s, d in data.items()}
    cfg = LinearConfig(epochs=2, batch_size=16, lr=1e-2)
    out, samples = probe(
        feats, labels, "multiclass", 3, cfg, seeds=[0, 1, 2], absent_policy="keep", where="t"
    )
    assert len(out["test_seeds"]) == len(out["valid_seeds"]) == 3
    assert samples["pred"].shape == (3, 30)
    # each seed's stored predictions give that seed's score; the heads differ
    for seed_score, pred in zip(out["test_seeds"], samples["pred"], strict=True):
        assert average_accuracy(labels["test"], pred, 3) == pytest.approx(seed_score)
    assert len({tuple(p) for p in samples["pred"]}) > 1
    # seed 0 alone is the first of the three
    alone, _ = probe(
        feats, labels, "multiclass", 3, cfg, seeds=[0], absent_policy="keep", where="t"
    )
    assert alone["test_seeds"] == out["test_seeds"][:1]
