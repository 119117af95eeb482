from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    jaccard_score,
)

from csmoe.errors import InputError
from csmoe.evaluation.metrics import (
    average_accuracy,
    confusion_accuracy,
    confusion_miou,
    label_set_prf,
    map_micro,
    mean_iou,
    scored_classes,
)


def test_map_micro_equals_sklearn():
    rng = np.random.default_rng(0)
    y = rng.random((50, 7)) < 0.3
    s = rng.normal(size=(50, 7)) + y
    assert map_micro(y, s) == pytest.approx(100 * average_precision_score(y, s, average="micro"))
    assert map_micro(y, s, classes=[0, 2]) == pytest.approx(
        100 * average_precision_score(y[:, [0, 2]], s[:, [0, 2]], average="micro")
    )


def test_map_without_positives_is_an_error():
    with pytest.raises(ValueError, match="no positive"):
        map_micro(np.zeros((4, 3)), np.ones((4, 3)))


def test_average_accuracy_equals_balanced_accuracy():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, 5, 200))
    assert average_accuracy(y, p, 6) == pytest.approx(100 * balanced_accuracy_score(y, p))


def test_average_accuracy_hand_case_and_class_subset():
    y = np.array([0, 0, 1, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0, 0])
    # recalls: 1/2, 2/3, 0/1
    assert average_accuracy(y, p, 3) == pytest.approx(100 * (0.5 + 2 / 3 + 0) / 3)
    assert average_accuracy(y, p, 3, classes=[0, 1]) == pytest.approx(100 * (0.5 + 2 / 3) / 2)


def test_mean_iou_hand_case_and_sklearn():
    y = np.array([[0, 0, 1], [1, 2, 2]])
    p = np.array([[0, 1, 1], [1, 2, 0]])
    # class 0: tp 1, union 3 ; class 1: tp 2, union 3 ; class 2: tp 1, union 2 ; class 3: absent
    miou, per = mean_iou(y, p, 4)
    assert per[:3] == pytest.approx([100 / 3, 200 / 3, 50]) and per[3] is None
    assert miou == pytest.approx((100 / 3 + 200 / 3 + 50) / 3)
    assert miou == pytest.approx(100 * jaccard_score(y.ravel(), p.ravel(), average="macro"))
    cm = confusion_matrix(y.ravel(), p.ravel(), labels=range(4))
    tp = np.diag(cm)
    assert per[1] == pytest.approx(100 * tp[1] / (cm[1].sum() + cm[:, 1].sum() - tp[1]))


def test_label_set_prf_hand_case():
    q = np.array([[1, 1, 0, 0]])
    r = np.array([[[1, 0, 0, 0], [0, 0, 1, 1]]])
    # item 1: inter 1, |q|=2, |r|=1 -> P 1, R .5, F1 2/3 ; item 2: all 0
    out = label_set_prf(q, r)
    assert out["precision"] == pytest.approx(50)
    assert out["recall"] == pytest.approx(25)
    assert out["f1"] == pytest.approx(100 / 3)  # 2PR/(P+R) = 2 * 50 * 25 / 75
    assert out["f1_per_item"] == pytest.approx(100 / 3)  # (2/3 + 0) / 2
    # two queries: F1 of the query means differs from the mean of per-query F1
    q2 = np.array([[1, 0], [1, 1]])
    r2 = np.array([[[1, 0]], [[0, 1]]])  # P 1, 1 ; R 1, 1/2 ; F1 1, 2/3
    two = label_set_prf(q2, r2)
    assert two["precision"] == pytest.approx(100) and two["recall"] == pytest.approx(75)
    assert two["f1"] == pytest.approx(100 * 2 * 0.75 / 1.75)
    assert two["f1_per_item"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="no queries"):
        label_set_prf(np.zeros((0, 4)), np.zeros((0, 2, 4)))


def test_label_set_f1_is_csmae_form_not_per_item_mean():
    # query 1 {0,1,2,3} retrieves {0} (P 1, R 1/4, F1 2/5) and {0,1,2,3} (P 1, R 1, F1 1);
    # query 2 {0} retrieves {0} (P 1, R 1, F1 1) and {1} (all 0)
    q = np.array([[1, 1, 1, 1], [1, 0, 0, 0]])
    r = np.array([[[1, 0, 0, 0], [1, 1, 1, 1]], [[1, 0, 0, 0], [0, 1, 0, 0]]])
    out = label_set_prf(q, r)
    # P = mean(1, 1/2) = 3/4, R = mean(5/8, 1/2) = 9/16: F1 = 2PR/(P+R) = 9/14 (CSMAE)
    assert out["precision"] == pytest.approx(75) and out["recall"] == pytest.approx(56.25)
    assert out["f1"] == pytest.approx(100 * 9 / 14)
    # the per-item F1 averaged over items and queries: mean(7/10, 1/2) = 3/5, lower
    assert out["f1_per_item"] == pytest.approx(60)
    none = label_set_prf(np.array([[1, 0]]), np.array([[[0, 1]]]))
    assert none["f1"] == 0 and none["f1_per_item"] == 0  # P + R = 0: no division by zero


def test_scored_classes_policies():
    present = np.array([True, False, True])
    assert scored_classes(present, 3, "keep", where="t") == ([0, 1, 2], [1])
    assert scored_classes(present, 3, "drop", where="t") == ([0, 2], [1])
    with pytest.raises(InputError, match=r"classes \[1\] never occur"):
        scored_classes(present, 3, "error", where="t")


def test_confusion_scores_batch_and_mark_undefined_as_nan():
    cm = np.array([[[2, 1], [0, 0]], [[0, 0], [0, 0]]])  # second: no sample at all
    aa = confusion_accuracy(cm)
    assert aa[0] == pytest.approx(100 * 2 / 3) and np.isnan(aa[1])
    miou = confusion_miou(cm, [0, 1])
    # class 0: tp 2, union 3; class 1: tp 0, union 1 (predicted once)
    assert miou[0] == pytest.approx((200 / 3 + 0) / 2) and np.isnan(miou[1])
