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
  2PR/(P+R) of those two averages, as CSMAE computes it; the per-item F1 averaged the same way
  is kept beside it as ``f1_per_item``.

The confusion-matrix and label-set scores also take sample weights (how often a bootstrap
resample draws each test sample, ``csmoe.evaluation.bootstrap``), batched over resamples.

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


def _chosen(num_classes: int, classes: Sequence[int] | None) -> np.ndarray:
    return np.arange(num_classes) if classes is None else np.asarray(list(classes), int)


def confusion_accuracy(cm: np.ndarray, classes: Sequence[int] | None = None) -> np.ndarray:
    """Average accuracy in % of confusion matrices ``cm`` [..., C, C] (counts or summed sample
    weights): mean recall over the ``classes`` that occur in the truth; NaN where none does."""
    cm = np.asarray(cm, dtype=np.float64)
    chosen = _chosen(cm.shape[-1], classes)
    support = cm.sum(axis=-1)[..., chosen]
    hits = np.diagonal(cm, axis1=-2, axis2=-1)[..., chosen]
    present = support > 0
    recall = np.where(present, hits / np.where(present, support, 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * recall.sum(-1) / present.sum(-1)


def average_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, classes: Sequence[int] | None = None
) -> float:
    """Mean per-class recall in % over ``classes`` (default: the classes present in ``y_true``)."""
    value = float(confusion_accuracy(confusion(y_true, y_pred, num_classes), classes))
    if np.isnan(value):
        raise ValueError("average accuracy is undefined: no scored class occurs in the truth")
    return value


def mean_iou(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    num_classes: int,
    classes: Sequence[int] | None = None,
) -> tuple[float, list[float | None]]:
    """Mean IoU in % and per-class IoU (None where a class is in neither truth nor prediction)."""
    cm = confusion(y_true, y_pred, num_classes)
    iou = _class_iou(cm)
    per_class = [None if np.isnan(v) else float(v) for v in iou]
    value = float(confusion_miou(cm, classes))
    if np.isnan(value):
        raise ValueError("mean IoU is undefined: no scored class in truth or prediction")
    return value, per_class


def _class_iou(cm: np.ndarray) -> np.ndarray:
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    union = cm.sum(axis=-2) + cm.sum(axis=-1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, 100.0 * tp / union, np.nan)


def confusion_miou(cm: np.ndarray, classes: Sequence[int] | None = None) -> np.ndarray:
    """Mean IoU in % of confusion matrices ``cm`` [..., C, C] over the ``classes`` that occur in
    truth or prediction; NaN where none does."""
    iou = _class_iou(cm)[..., _chosen(np.shape(cm)[-1], classes)]
    defined = ~np.isnan(iou)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined, iou, 0.0).sum(-1) / defined.sum(-1)


def label_set_per_query(
    query_labels: np.ndarray, retrieved_labels: np.ndarray
) -> dict[str, np.ndarray]:
    """Per query, precision, recall and per-item F1 (fractions) of the label sets, averaged over
    the k retrieved items.

    ``query_labels`` is multi-hot [Q, C], ``retrieved_labels`` [Q, k, C]. For one query q and
    one retrieved item r with label sets Lq, Lr: P = |Lq∩Lr|/|Lr|, R = |Lq∩Lr|/|Lq|,
    F1 = 2|Lq∩Lr|/(|Lq|+|Lr|). An empty label set counts as no match (0) rather than dividing
    by zero.
    """
    q = np.asarray(query_labels, dtype=bool)[:, None, :]
    r = np.asarray(retrieved_labels, dtype=bool)
    if q.shape[0] == 0:
        raise ValueError("no queries to score")
    inter = (q & r).sum(-1).astype(np.float64)
    nq = q.sum(-1).astype(np.float64)
    nr = r.sum(-1).astype(np.float64)
    return {
        "precision": (inter / np.maximum(nr, 1)).mean(1),
        "recall": (inter / np.maximum(nq, 1)).mean(1),
        "f1_per_item": (2 * inter / np.maximum(nq + nr, 1)).mean(1),
    }


def label_set_scores(
    per_query: dict[str, np.ndarray], weights: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Precision, recall (query means), F1 = 2PR/(P+R) of those means and the mean per-item F1
    ``f1_per_item``, in %, from :func:`label_set_per_query`; ``weights`` [..., Q] weighs the
    queries (a bootstrap resample's draw counts), giving arrays [...] instead of scalars.

    ``f1`` is the protocol the paper's Table VI follows (jakhac/CSMAE, ``retrieval.py``:
    ``avg_f1`` from ``avg_precision`` and ``avg_recall``); ``f1_per_item`` is the other common
    form, never higher (the harmonic mean is concave) and not comparable with the paper."""
    n = len(per_query["precision"])
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    total = w.sum(-1)
    p, r, f1 = (100.0 * (w @ per_query[k]) / total for k in ("precision", "recall", "f1_per_item"))
    pr = p + r
    return {
        "precision": p,
        "recall": r,
        "f1": np.where(pr > 0, 2 * p * r / np.where(pr > 0, pr, 1), 0.0),
        "f1_per_item": f1,
    }


def label_set_prf(query_labels: np.ndarray, retrieved_labels: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 (CSMAE's 2PR/(P+R) of the query means) and the mean per-item F1,
    in %, of the retrieved label sets (see :func:`label_set_per_query`)."""
    scores = label_set_scores(label_set_per_query(query_labels, retrieved_labels))
    return {k: float(v) for k, v in scores.items()}


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
