"""Linear probing on frozen features: one linear layer, trained per task (paper III-C)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from csmoe.errors import InputError
from csmoe.evaluation.metrics import average_accuracy, map_micro, scored_classes


@dataclass(frozen=True)
class LinearConfig:
    """Head training settings (``evaluation.linear`` in config; reasons there)."""

    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-2
    weight_decay: float = 0.0
    standardize: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def train_linear(
    x: np.ndarray, y: np.ndarray, kind: str, num_classes: int, cfg: LinearConfig, seed: int
) -> Any:
    """Train a linear head on features ``x`` [N, D]; ``y`` is multi-hot [N, C] for
    ``multilabel`` or class indices [N] for ``multiclass``. Returns a callable giving scores."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    mean = xt.mean(0) if cfg.standardize else torch.zeros(xt.shape[1])
    std = xt.std(0).clamp_min(1e-6) if cfg.standardize else torch.ones(xt.shape[1])
    head = torch.nn.Linear(xt.shape[1], num_classes)
    if kind == "multilabel":
        yt = torch.as_tensor(y, dtype=torch.float32)
        loss_fn: Any = torch.nn.BCEWithLogitsLoss()
    elif kind == "multiclass":
        yt = torch.as_tensor(y, dtype=torch.int64)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        raise ValueError(f"linear probing needs a classification task, not {kind!r}")
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, -(-len(xt) // cfg.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch)
    xs = (xt - mean) / std
    for _ in range(cfg.epochs):
        order = torch.randperm(len(xs), generator=gen)
        for start in range(0, len(xs), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            opt.zero_grad()
            loss_fn(head(xs[idx]), yt[idx]).backward()
            opt.step()
            sched.step()

    def predict(features: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            f = (torch.as_tensor(features, dtype=torch.float32) - mean) / std
            return head(f).numpy()

    return predict


def train_present(y: np.ndarray, kind: str, num_classes: int) -> np.ndarray:
    """Which classes occur at least once in training labels (per-pixel for segmentation)."""
    if kind == "multilabel":
        return np.asarray(y).reshape(len(y), -1)[:, :num_classes].any(axis=0)
    flat = np.asarray(y).ravel()
    flat = flat[(flat >= 0) & (flat < num_classes)]  # no-data codes are not classes
    return np.bincount(flat, minlength=num_classes) > 0


def score(
    y: np.ndarray, scores: np.ndarray, kind: str, num_classes: int, classes: list[int]
) -> float:
    """The task's metric in %: mAPμ (multi-label) or average accuracy (multi-class)."""
    if kind == "multilabel":
        return map_micro(y, scores, classes)
    return average_accuracy(y, scores.argmax(1), num_classes, classes)


def probe(
    features: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    kind: str,
    num_classes: int,
    cfg: LinearConfig,
    *,
    seeds: list[int],
    absent_policy: str,
    where: str,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one head per seed on ``train``; the metric on ``valid`` and ``test`` per seed
    (``valid_seeds``, ``test_seeds``) plus the class handling; also the test predictions of
    every seed (``scores`` [S, n, C] multi-label, ``pred`` [S, n] multi-class) for the
    bootstrap."""
    classes, absent = scored_classes(
        train_present(labels["train"], kind, num_classes), num_classes, absent_policy, where=where
    )
    out: dict[str, Any] = {
        "absent_train_classes": absent,
        "absent_policy": absent_policy,
        "scored_classes": classes,
        "valid_seeds": [],
        "test_seeds": [],
    }
    test: list[np.ndarray] = []
    for seed in seeds:
        predict = train_linear(features["train"], labels["train"], kind, num_classes, cfg, seed)
        outputs = {split: predict(features[split]) for split in ("valid", "test")}
        for split, scores in outputs.items():
            try:
                out[f"{split}_seeds"].append(
                    score(labels[split], scores, kind, num_classes, classes)
                )
            except ValueError as err:  # e.g. no positive label at all: the metric is undefined
                raise InputError(f"{where} ({split} split)", str(err)) from err
        test.append(outputs["test"] if kind == "multilabel" else outputs["test"].argmax(1))
    samples = {"scores" if kind == "multilabel" else "pred": np.stack(test)}
    return out, samples
