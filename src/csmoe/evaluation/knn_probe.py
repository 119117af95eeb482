"""k-nearest-neighbour probing on frozen features (beside the linear probe, as torchgeo-bench
and PANGAEA report it): nothing is trained, so it needs no seeds and shows how much of a task
the feature geometry alone solves.

Each test sample takes its ``k`` most cosine-similar training samples; each neighbour votes with
its similarity (a negative similarity votes 0). Multi-class: the class with the largest vote
share (ties: the lowest class index). Multi-label: the vote-weighted mean of the neighbours'
label vectors, a score per class in [0, 1]; thresholding it at 0.5 gives the predicted label
set, but the task's metric (mAPμ) ranks the means themselves, so no threshold enters the score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from csmoe.errors import InputError
from csmoe.evaluation.linear_probe import score, train_present
from csmoe.evaluation.metrics import scored_classes

# similarities held at a time: [queries per chunk, training samples]
_BLOCK_VALUES = 2**24


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_scores(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    k: int,
    kind: str,
    num_classes: int,
) -> np.ndarray:
    """Vote shares [n_test, C]: per class, the similarity-weighted share of the ``k`` nearest
    training samples (cosine) that carry it. Rows sum to 1 for ``multiclass``."""
    if k > len(train_x):
        raise ValueError(f"k = {k} is more than the {len(train_x)} training samples")
    if kind == "multiclass":
        onehot = np.zeros((len(train_y), num_classes))
        onehot[np.arange(len(train_y)), np.asarray(train_y, int)] = 1.0
        targets = onehot
    elif kind == "multilabel":
        targets = np.asarray(train_y, np.float64).reshape(len(train_y), -1)[:, :num_classes]
    else:
        raise ValueError(f"kNN probing needs a classification task, not {kind!r}")
    train, test = _unit(train_x), _unit(test_x)
    out = np.empty((len(test), num_classes))
    chunk = max(1, _BLOCK_VALUES // len(train))
    for start in range(0, len(test), chunk):
        sims = test[start : start + chunk] @ train.T
        # the k largest similarities per row (order among them does not matter for a vote)
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.clip(np.take_along_axis(sims, idx, axis=1), 0.0, None)
        total = w.sum(1, keepdims=True)
        # all k neighbours orthogonal or opposite: an unweighted vote instead of 0/0
        w = np.where(total > 0, w, 1.0)
        out[start : start + chunk] = np.einsum("qk,qkc->qc", w, targets[idx]) / w.sum(
            1, keepdims=True
        )
    return out


def probe(
    features: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    kind: str,
    num_classes: int,
    k: int,
    *,
    absent_policy: str,
    where: str,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Neighbours from ``train``, the task's metric on ``valid`` and ``test``; also the test
    predictions (``scores`` [1, n, C] for multi-label, ``pred`` [1, n] for multi-class: one
    "seed", for the bootstrap)."""
    classes, absent = scored_classes(
        train_present(labels["train"], kind, num_classes), num_classes, absent_policy, where=where
    )
    out: dict[str, Any] = {
        "absent_train_classes": absent,
        "absent_policy": absent_policy,
        "scored_classes": classes,
    }
    predictions: dict[str, np.ndarray] = {}
    for split in ("valid", "test"):
        try:
            votes = knn_scores(
                features["train"], labels["train"], features[split], k, kind, num_classes
            )
            out[f"{split}_seeds"] = [score(labels[split], votes, kind, num_classes, classes)]
        except ValueError as err:
            raise InputError(f"{where} ({split} split)", str(err)) from err
        predictions[split] = votes
    test = predictions["test"]
    samples = {"scores": test[None]} if kind == "multilabel" else {"pred": test.argmax(1)[None]}
    return out, samples
