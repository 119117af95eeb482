"""Downstream metrics of the paper (section III-C), all in percent.

- multi-label classification: micro-averaged average precision (mAPμ), scikit-learn's
  ``average_precision_score(average="micro")``;
- multi-class classification: average accuracy (AA) = mean per-class recall over the classes
  present in the ground truth (scikit-learn's ``balanced_accuracy_score``, written with a
  confusion matrix here so that the scored classes can be chosen explicitly);
- segmentation: mean intersection-over-union over the classes that occur in the ground truth or
  the prediction (a class absent from both has an undefined IoU and is left out, as in mmseg);
- retrieval: precision and recall of the label sets of each retrieved item against the
  query's label set, averaged over the k retrieved items and then over the queries; F1 is
  the harmonic mean of those two averages, as CSMAE computes it (the per-item F1 averaged
  the same way is kept beside it under another name).

Classes that the probe never saw in training are handled by :func:`scored_classes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ABSENT_POLICIES = ("keep", "drop", "error")


def map_micro(
    y_true: np.ndarray, scores: np.ndarray, classes: Sequence[int] | None = None
) -> float:
    """Micro mAP in % of multi-hot ``y_true`` [N, C] given real ``scores`` [N, C]."""
    from sklearn.metrics import average_precision_score

    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    if classes is not None:
        y_true, scores = y_true[:, list(classes)], scores[:, list(classes)]
    if y_true.sum() == 0:
        raise ValueError("mAP is undefined: no positive label in the scored ground truth")
    return 100.0 * float(average_precision_score(y_true, scores, average="micro"))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion matrix [true, pred] over ``num_classes`` classes (labels outside are ignored)."""
    y_true = np.asarray(y_true).ravel().astype(np.int64)
    y_pred = np.asarray(y_pred).ravel().astype(np.int64)
    keep = (y_true >= 0) & (y_true < num_classes)
    flat = y_true[keep] * num_classes + y_pred[keep]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def average_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, classes: Sequence[int] | None = None
) -> float:
    """Mean per-class recall in % over ``classes`` (default: the classes present in ``y_true``)."""
    cm = confusion(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    chosen = np.flatnonzero(support) if classes is None else np.asarray(list(classes), int)
    chosen = chosen[support[chosen] > 0]
    if chosen.size == 0:
        raise ValueError("average accuracy is undefined: no scored class occurs in the truth")
    return 100.0 * float(np.mean(np.diag(cm)[chosen] / support[chosen]))


def mean_iou(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    num_classes: int,
    classes: Sequence[int] | None = None,
) -> tuple[float, list[float | None]]:
    """Mean IoU in % and per-class IoU (None where a class is in neither truth nor prediction)."""
    cm = confusion(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    per_class = [float(100.0 * t / u) if u > 0 else None for t, u in zip(tp, union, strict=True)]
    chosen = range(num_classes) if classes is None else classes
    values = [per_class[c] for c in chosen if per_class[c] is not None]
    if not values:
        raise ValueError("mean IoU is undefined: no scored class in truth or prediction")
    return float(np.mean(values)), per_class


def label_set_prf(query_labels: np.ndarray, retrieved_labels: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 in % of label sets, as the CSMAE code scores retrieval.

    ``query_labels`` is multi-hot [Q, C], ``retrieved_labels`` [Q, k, C]. For one query q and
    one retrieved item r with label sets Lq, Lr: P = |Lq∩Lr|/|Lr|, R = |Lq∩Lr|/|Lq|; each is
    averaged over the k items, then over the queries, and ``f1`` = 2·P·R / (P + R) of those
    two averages (0 when both are 0). This is the protocol the paper's Table VI follows
    (jakhac/CSMAE, ``retrieval.py``: ``avg_f1`` from ``avg_precision`` and ``avg_recall``).
    ``f1_per_item`` is the other common form, the per-item F1 2|Lq∩Lr|/(|Lq|+|Lr|) averaged
    the same way; it is never higher (the harmonic mean is concave) and is not comparable with
    the paper. An empty label set counts as no match (0) rather than dividing by zero.
    """
    q = np.asarray(query_labels, dtype=bool)[:, None, :]
    r = np.asarray(retrieved_labels, dtype=bool)
    if q.shape[0] == 0:
        raise ValueError("no queries to score")
    inter = (q & r).sum(-1).astype(np.float64)
    nq = q.sum(-1).astype(np.float64)
    nr = r.sum(-1).astype(np.float64)
    # averaging over the k items, then over the queries, is the mean over [Q, k]: k is fixed
    precision = float((inter / np.maximum(nr, 1)).mean())
    recall = float((inter / np.maximum(nq, 1)).mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    f1_per_item = float((2 * inter / np.maximum(nq + nr, 1)).mean())
    return {
        "precision": 100.0 * precision,
        "recall": 100.0 * recall,
        "f1": 100.0 * f1,
        "f1_per_item": 100.0 * f1_per_item,
    }


def scored_classes(
    train_present: np.ndarray, num_classes: int, policy: str, *, where: str
) -> tuple[list[int], list[int]]:
    """Classes to score and classes absent from the training split, under ``policy``.

    A linear or UPerNet probe cannot predict a class it never saw, so such a class scores 0
    (recall, IoU) or drags mAP down. ``keep`` scores every class anyway (the honest number for
    the task as defined, the absent classes are listed in the result JSON), ``drop`` scores only
    the classes seen in training (also listed), ``error`` refuses to score.
    """
    if policy not in ABSENT_POLICIES:
        raise ValueError(f"absent_train_classes must be one of {ABSENT_POLICIES}, got {policy!r}")
    present = np.asarray(train_present, dtype=bool)
    absent = [int(c) for c in np.flatnonzero(~present[:num_classes])]
    if absent and policy == "error":
        from csmoe.errors import InputError

        raise InputError(
            where,
            f"classes {absent} never occur in the training split; set evaluation "
            "absent_train_classes to 'keep' or 'drop' to score anyway",
        )
    if policy == "drop":
        return [c for c in range(num_classes) if c not in absent], absent
    return list(range(num_classes)), absent
