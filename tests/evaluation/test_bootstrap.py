from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from csmoe.evaluation import bootstrap
from csmoe.evaluation.bootstrap import (
    AccuracyScores,
    BootstrapConfig,
    IoUScores,
    MicroAPScores,
    RetrievalScores,
    interval,
    paired_distribution,
    resample_weights,
)
from csmoe.evaluation.metrics import (
    average_accuracy,
    confusion,
    label_set_per_query,
    label_set_prf,
    map_micro,
    mean_iou,
)

CFG = BootstrapConfig(resamples=200, confidence=0.95, seed=3)


def _weights(n, key="task", cfg=CFG):
    return np.concatenate(list(resample_weights(n, cfg, key)))


def _indices(counts):
    """A resample as explicit sample indices (what the weights stand for)."""
    return np.repeat(np.arange(len(counts)), counts.astype(int))


def test_resamples_are_seeded_draw_counts_independent_of_the_block_size(monkeypatch):
    w = _weights(50)
    assert w.shape == (200, 50) and (w.sum(1) == 50).all()
    assert np.array_equal(w, _weights(50)) and not np.array_equal(w, _weights(50, "other"))
    monkeypatch.setattr(bootstrap, "_BLOCK_VALUES", 7 * 50)  # blocks of 7 resamples
    assert len(list(resample_weights(50, CFG, "task"))) == 29
    assert np.array_equal(_weights(50), w)


def test_accuracy_under_weights_is_the_metric_on_the_resampled_samples():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 60)
    pred = np.stack([np.where(rng.random(60) < 0.6, y, rng.integers(0, 5, 60)) for _ in range(2)])
    scores = AccuracyScores(y, pred, 6, [0, 1, 2, 3, 4])
    full = scores.score(np.ones((1, 60)))[:, 0]
    assert full == pytest.approx([average_accuracy(y, p, 6, range(5)) for p in pred])
    w = _weights(60)[:5]
    got = scores.score(w)
    for b, counts in enumerate(w):
        idx = _indices(counts)
        want = [average_accuracy(y[idx], p[idx], 6, range(5)) for p in pred]
        assert got[:, b] == pytest.approx(want)


def test_micro_ap_equals_scikit_learn_with_sample_weights_and_ties():
    rng = np.random.default_rng(1)
    y = rng.random((40, 6)) < 0.3
    s = np.round(rng.normal(size=(2, 40, 6)) + y, 1)  # rounded: many tied scores
    scores = MicroAPScores(y, s, [0, 2, 3, 5])
    full = scores.score(np.ones((1, 40)))[:, 0]
    assert full == pytest.approx([map_micro(y, x, [0, 2, 3, 5]) for x in s])
    w = _weights(40)[:6]
    got = scores.score(w)
    for b, counts in enumerate(w):
        idx = _indices(counts)
        sub = np.ix_(idx, [0, 2, 3, 5])
        want = [100 * average_precision_score(y[sub], x[sub], average="micro") for x in s]
        assert got[:, b] == pytest.approx(want)
        sk = 100 * average_precision_score(
            y[:, [0, 2, 3, 5]], s[0][:, [0, 2, 3, 5]], average="micro", sample_weight=counts
        )
        assert got[0, b] == pytest.approx(sk)


def test_micro_ap_blocks_give_the_same_scores(monkeypatch):
    rng = np.random.default_rng(2)
    y = rng.random((30, 4)) < 0.4
    scores = MicroAPScores(y, rng.normal(size=(1, 30, 4)) + y, [0, 1, 2, 3])
    w = _weights(30)
    whole = scores.score(w)
    monkeypatch.setattr(bootstrap, "_BLOCK_VALUES", 3 * 120)
    assert np.array_equal(scores.score(w), whole)


def test_iou_from_per_sample_confusion_is_the_metric_on_the_resampled_masks():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, (25, 8, 8))
    pred = np.where(rng.random((25, 8, 8)) < 0.7, truth, rng.integers(0, 4, (25, 8, 8)))
    per_sample = np.stack([confusion(t, p, 4) for t, p in zip(truth, pred, strict=True)])
    scores = IoUScores(per_sample[None], [0, 1, 2, 3])
    assert scores.score(np.ones((1, 25)))[0, 0] == pytest.approx(mean_iou(truth, pred, 4)[0])
    w = _weights(25)[:5]
    for b, counts in enumerate(w):
        idx = _indices(counts)
        assert scores.score(w)[0, b] == pytest.approx(mean_iou(truth[idx], pred[idx], 4)[0])


def test_retrieval_f1_is_csmae_form_on_resampled_queries():
    rng = np.random.default_rng(4)
    q = rng.random((30, 5)) < 0.4
    r = rng.random((30, 3, 5)) < 0.4
    per_query = label_set_per_query(q, r)
    scores = RetrievalScores(per_query["precision"], per_query["recall"], per_query["f1_per_item"])
    assert scores.score(np.ones((1, 30)))[0, 0] == pytest.approx(label_set_prf(q, r)["f1"])
    w = _weights(30)[:5]
    for b, counts in enumerate(w):
        idx = _indices(counts)
        out = label_set_prf(q[idx], r[idx])
        assert scores.score(w)[0, b] == pytest.approx(out["f1"])
        assert out["f1"] == pytest.approx(
            2 * out["precision"] * out["recall"] / (out["precision"] + out["recall"])
        )


def test_interval_contains_the_point_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(5)
    widths = []
    for n in (40, 400):
        y = rng.integers(0, 3, n)
        pred = np.where(rng.random((3, n)) < 0.7, y, rng.integers(0, 3, (3, n)))
        scores = AccuracyScores(y, pred, 3, [0, 1, 2])
        point = float(np.mean([average_accuracy(y, p, 3) for p in pred]))
        ci = interval(scores, CFG, "t")
        assert ci["ci_low"] < point < ci["ci_high"] and ci["undefined"] == 0
        widths.append(ci["ci_high"] - ci["ci_low"])
    assert widths[1] < widths[0] / 2  # ~ 1/sqrt(n)


def test_paired_difference_of_a_model_with_itself_is_exactly_zero():
    rng = np.random.default_rng(6)
    y = rng.random((30, 4)) < 0.3
    a = MicroAPScores(y, rng.normal(size=(2, 30, 4)) + y, [0, 1, 2, 3])
    same = MicroAPScores(y.copy(), a.scores.copy(), [0, 1, 2, 3])
    assert (paired_distribution(a, same, CFG, "t") == 0).all()
    b = MicroAPScores(y, rng.normal(size=(2, 30, 4)), [0, 1, 2, 3])
    assert (paired_distribution(a, b, CFG, "t") > 0).mean() > 0.95  # a is far better
    with pytest.raises(ValueError, match="same test samples"):
        paired_distribution(a, MicroAPScores(y[:20], b.scores[:, :20], [0]), CFG, "t")


def test_undefined_resamples_are_left_out_and_counted():
    y = np.zeros((10, 2), bool)
    y[0, 0] = True  # one positive: a resample that misses sample 0 has no mAP
    scores = MicroAPScores(y, np.random.default_rng(7).normal(size=(1, 10, 2)), [0, 1])
    ci = interval(scores, CFG, "t")
    # P(sample 0 never drawn in 10 draws) = 0.9^10 ~ 0.35
    assert 40 < ci["undefined"] < 100 and np.isfinite(ci["ci_low"])
