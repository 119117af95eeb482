"""Bootstrap confidence intervals over test samples, from stored per-sample results.

A resample of the n test samples (drawn with replacement) is the same as weighting each sample
by how often the resample drew it: multinomial counts that sum to n. Every score here is written
as a function of such weights, so a block of resamples is scored at once and the encoder never
runs again; at weight 1 each equals the metric of :mod:`csmoe.evaluation.metrics` (tested).

The weights depend only on the bootstrap seed, a key (the task or the BigEarthNet-v2 set) and
n, so every model scored on the same test samples sees the same resamples: that makes the
difference of two models a paired bootstrap, and a model against itself exactly 0. With several
head seeds, a resample's score is the mean over the seeds on that resample, matching the point
estimate (the mean over seeds on all samples).

The interval is the percentile interval of the resampled scores. Resamples on which a score is
undefined (e.g. no positive label left for mAP) are left out and counted.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from csmoe.errors import InputError
from csmoe.evaluation.metrics import confusion_accuracy, confusion_miou, label_set_scores

# weights are materialised [block, n]: bound a block's size in float64 values
_BLOCK_VALUES = 2**24


@dataclass(frozen=True)
class BootstrapConfig:
    """``evaluation.bootstrap`` in config."""

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BootstrapConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def resample_weights(n: int, cfg: BootstrapConfig, key: str) -> Iterator[np.ndarray]:
    """The ``cfg.resamples`` resamples of ``n`` samples as draw counts, in blocks [b, n].

    Seeded by (seed, CRC32 of ``key``): the same for every model scored on the same samples.
    Rows are drawn one after another from one generator, so the block size does not change them.
    """
    rng = np.random.default_rng([cfg.seed, zlib.crc32(key.encode())])
    block = max(1, _BLOCK_VALUES // max(n, 1))
    p = np.full(n, 1.0 / n)
    for start in range(0, cfg.resamples, block):
        yield rng.multinomial(n, p, size=min(block, cfg.resamples - start)).astype(np.float64)


class Scores(Protocol):
    """Per-sample results of one evaluation that can be scored under sample weights."""

    n: int

    def score(self, weights: np.ndarray) -> np.ndarray:
        """Scores in % [S, b] per head seed for weights [b, n] (NaN where undefined)."""
        ...


def _grouped_sums(weights: np.ndarray, groups: np.ndarray, size: int) -> np.ndarray:
    """Sum the columns of ``weights`` [b, n] by group index (0..size-1) -> [b, size]."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    out = np.zeros((len(weights), size))
    out[:, sorted_groups[starts]] = np.add.reduceat(weights[:, order], starts, axis=1)
    return out


@dataclass
class AccuracyScores:
    """Multi-class: average accuracy of predicted classes ``pred`` [S, n] vs ``labels`` [n]."""

    labels: np.ndarray
    pred: np.ndarray
    num_classes: int
    classes: list[int]

    @property
    def n(self) -> int:
        return len(self.labels)

    def score(self, weights: np.ndarray) -> np.ndarray:
        c = self.num_classes
        keep = (self.labels >= 0) & (self.labels < c)  # no-data codes are no class
        out = []
        for pred in self.pred:
            cells = self.labels[keep] * c + pred[keep]
            cm = _grouped_sums(weights[:, keep], cells, c * c).reshape(-1, c, c)
            out.append(confusion_accuracy(cm, self.classes))
        return np.stack(out)


@dataclass
class MicroAPScores:
    """Multi-label: micro mAP of real ``scores`` [S, n, C] vs multi-hot ``labels`` [n, C]."""

    labels: np.ndarray
    scores: np.ndarray
    classes: list[int]

    @property
    def n(self) -> int:
        return len(self.labels)

    def score(self, weights: np.ndarray) -> np.ndarray:
        y = np.asarray(self.labels, bool)[:, self.classes]
        rows = np.repeat(np.arange(len(y)), y.shape[1])  # each label's sample
        step = max(1, _BLOCK_VALUES // max(rows.size, 1))  # weights per label: [b, n * C]
        return np.stack(
            [
                np.concatenate(
                    [
                        weighted_micro_ap(y.ravel(), s[:, self.classes].ravel(), w[:, rows])
                        for w in np.array_split(weights, -(-len(weights) // step))
                    ]
                )
                for s in self.scores
            ]
        )


def weighted_micro_ap(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision in % of flat labels ``y`` [m] and scores ``s`` [m] under weights
    [b, m], as scikit-learn's ``average_precision_score`` with ``sample_weight``: the sum over
    the distinct score thresholds of the recall step times the precision there."""
    order = np.argsort(-s, kind="stable")
    y, s, w = y[order], s[order], w[:, order]
    last = np.r_[s[1:] != s[:-1], True]  # the last item of each group of tied scores
    tp = np.cumsum(w * y, axis=1)[:, last]
    seen = np.cumsum(w, axis=1)[:, last]
    precision = tp / np.where(seen > 0, seen, 1)
    gain = np.diff(tp, axis=1, prepend=0.0)
    positives = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(positives > 0, 100.0 * (gain * precision).sum(1) / positives, np.nan)


@dataclass
class IoUScores:
    """Segmentation: mean IoU from per-sample confusion matrices ``confusion`` [S, n, C, C]."""

    confusion: np.ndarray
    classes: list[int]

    @property
    def n(self) -> int:
        return self.confusion.shape[1]

    def score(self, weights: np.ndarray) -> np.ndarray:
        s, n, c, _ = self.confusion.shape
        flat = self.confusion.reshape(s, n, c * c).astype(np.float64)
        return np.stack(
            [confusion_miou((weights @ f).reshape(-1, c, c), self.classes) for f in flat]
        )


@dataclass
class RetrievalScores:
    """CBIR: F1 = 2PR/(P+R) of the query means of per-query ``precision`` and ``recall`` [n]
    (the queries are resampled; one "seed": retrieval has no trained part)."""

    precision: np.ndarray
    recall: np.ndarray
    f1_per_item: np.ndarray

    @property
    def n(self) -> int:
        return len(self.precision)

    def score(self, weights: np.ndarray) -> np.ndarray:
        per_query = {
            "precision": self.precision,
            "recall": self.recall,
            "f1_per_item": self.f1_per_item,
        }
        return label_set_scores(per_query, weights)["f1"][None]


def distribution(scores: Scores, cfg: BootstrapConfig, key: str) -> np.ndarray:
    """The seed-mean score of every resample [resamples] (NaN where undefined)."""
    return np.concatenate([scores.score(w).mean(0) for w in resample_weights(scores.n, cfg, key)])


def paired_distribution(a: Scores, b: Scores, cfg: BootstrapConfig, key: str) -> np.ndarray:
    """``a`` minus ``b`` on the same resamples [resamples]; both must hold the same samples."""
    if a.n != b.n:
        raise ValueError(f"paired bootstrap needs the same test samples ({a.n} vs {b.n})")
    return np.concatenate(
        [a.score(w).mean(0) - b.score(w).mean(0) for w in resample_weights(a.n, cfg, key)]
    )


def percentile_interval(values: np.ndarray, confidence: float) -> dict[str, float | int]:
    """``ci_low`` / ``ci_high`` of the defined values and how many were ``undefined``."""
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return {"ci_low": float("nan"), "ci_high": float("nan"), "undefined": int(values.size)}
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(ok, [alpha, 1.0 - alpha])
    return {"ci_low": float(low), "ci_high": float(high), "undefined": int(values.size - ok.size)}


def interval(scores: Scores, cfg: BootstrapConfig, key: str) -> dict[str, float | int]:
    """The percentile interval of the seed-mean score over test-sample resamples."""
    return percentile_interval(distribution(scores, cfg, key), cfg.confidence)


def save_samples(path: str | Path, kind: str, data_digest: str, **arrays: Any) -> None:
    """Write the per-sample results of one evaluation (``kind``: multiclass, multilabel,
    segmentation, retrieval) with the fingerprint of the samples they belong to."""
    from csmoe.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, kind=kind, data=data_digest, **arrays)


def load_samples(path: str | Path) -> dict[str, Any]:
    """The arrays :func:`save_samples` wrote (a clear error for a missing or broken file)."""
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError as err:
        raise InputError(path, "per-sample results not found") from err
    except (OSError, ValueError) as err:
        raise InputError(path, f"unreadable per-sample results: {err}") from err


def scores_from(samples: dict[str, Any], pair: str = "") -> Scores:
    """The :class:`Scores` of loaded per-sample results (CBIR: of one query/archive ``pair``)."""
    kind = str(samples["kind"])
    if kind == "multiclass":
        return AccuracyScores(
            samples["labels"],
            samples["pred"],
            int(samples["num_classes"]),
            list(samples["classes"]),
        )
    if kind == "multilabel":
        return MicroAPScores(samples["labels"], samples["scores"], list(samples["classes"]))
    if kind == "segmentation":
        return IoUScores(samples["confusion"], list(samples["classes"]))
    if kind == "retrieval":
        return RetrievalScores(
            *(samples[f"{pair}_{m}"] for m in ("precision", "recall", "f1_per_item"))
        )
    raise ValueError(f"unknown kind of per-sample results {kind!r}")
