from __future__ import annotations

import numpy as np
import pytest

from csmoe.evaluation.cbir import evaluate_pairs, topk_cosine


def _brute_force(q, a, k):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    return np.argsort(-(qn @ an.T), axis=1, kind="stable")[:, :k]


def test_chunked_topk_equals_brute_force():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(37, 16)).astype(np.float32)
    a = rng.normal(size=(500, 16)).astype(np.float32) * rng.uniform(0.5, 3, (500, 1))
    # a block of 4 kB forces two queries per chunk: many chunks, same answer
    got = topk_cosine(q, a, 10, block_bytes=4 * 500 * 2)
    assert np.array_equal(got, _brute_force(q, a, 10))
    assert np.array_equal(topk_cosine(q, a, 10), got)


def test_empty_queries_and_small_archive_are_errors():
    a = np.ones((5, 3), np.float32)
    with pytest.raises(ValueError, match="empty query set"):
        topk_cosine(np.zeros((0, 3), np.float32), a, 2)
    with pytest.raises(ValueError, match="fewer than k"):
        topk_cosine(a, a, 6)


def test_evaluate_pairs_perfect_when_features_encode_labels():
    rng = np.random.default_rng(1)
    val = rng.random((20, 5)) < 0.4
    val[:, 0] |= ~val.any(1)  # no empty label set
    # every query's label set also occurs in the archive
    labels = {"validation": val, "test": np.concatenate([rng.random((40, 5)) < 0.4, val[::-1]])}
    # features = label vector + tiny noise: nearest neighbours share the exact label set
    feats = {
        s: {m: v.astype(np.float32) + 1e-3 * rng.normal(size=v.shape) for m in ("s1", "s2")}
        for s, v in labels.items()
    }
    out = evaluate_pairs(feats, labels, k=1)
    assert set(out) == {"s1s1", "s2s2", "s1s2", "s2s1"}
    for scores in out.values():
        assert scores["f1"] == pytest.approx(100.0)
