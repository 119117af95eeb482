"""Result files as the evaluation writes them (JSON + per-sample .npz), from synthetic
predictions whose quality is chosen: the scores, spreads and intervals are computed by the
evaluation's own code from those predictions, so they are consistent as in a real run."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from csmoe.evaluation.bootstrap import (
    BootstrapConfig,
    load_samples,
    save_samples,
    scores_from,
)
from csmoe.evaluation.metrics import average_accuracy, confusion, mean_iou
from csmoe.evaluation.records import retrieval_summary, summarise

BOOT = BootstrapConfig(resamples=200, confidence=0.95, seed=0)
CLASSES = 4


def _model(patch: int, kind: str) -> dict:
    return {
        "model": {"kind": kind, "patch_size": patch},
        "train_set": "mtom_mu",
        "complexity": {"params_m": 1.5, "gflops": 0.1 * patch, "c2c": 15 / patch},
    }


def _key(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _labels(task: str, n: int) -> np.ndarray:
    """The test labels of ``task``: the same for every model (same test samples)."""
    return np.random.default_rng(_key(task)).integers(0, CLASSES, n)


def write_probe(
    root: Path,
    variant: str,
    epoch: int | str,
    task: str,
    strategy: str,
    *,
    quality: float,
    seeds: int = 2,
    n: int = 60,
    patch: int = 16,
    kind: str = "csmoe",
    segmentation: bool = False,
    seed: int = 0,
) -> str:
    """A multi-class (or segmentation) result whose predictions are right with probability
    ``quality``; returns the JSON path."""
    rng = np.random.default_rng([seed, patch, _key(variant, task, epoch)])
    y = _labels(task, n)
    path = root / "probe" / variant / str(epoch) / task / f"{strategy}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    preds = np.stack(
        [np.where(rng.random(n) < quality, y, rng.integers(0, CLASSES, n)) for _ in range(seeds)]
    )
    if segmentation:
        # one "pixel" per scene keeps it small: a scene's confusion matrix is one count
        arrays = {
            "confusion": np.stack(
                [[confusion([t], [p], CLASSES) for t, p in zip(y, pr, strict=True)] for pr in preds]
            )
        }
        per_seed = [mean_iou(y, p, CLASSES)[0] for p in preds]
        sample_kind, metric = "segmentation", "mIoU"
    else:
        arrays = {"pred": preds, "labels": y}
        per_seed = [average_accuracy(y, p, CLASSES) for p in preds]
        sample_kind, metric = "multiclass", "AA"
    save_samples(
        path.with_suffix(".npz"),
        sample_kind,
        f"{task}-test",
        num_classes=CLASSES,
        classes=list(range(CLASSES)),
        **arrays,
    )
    result = {"valid_seeds": per_seed, "test_seeds": per_seed, "scored_classes": list(range(4))}
    scores = scores_from(load_samples(path.with_suffix(".npz")))
    record = summarise(result, scores, BOOT, key=task)
    record.update(
        variant=variant,
        epoch=epoch,
        task=task,
        strategy=strategy,
        metric=metric,
        score=record["test"],
        test_data=f"{task}-test",
        settings={"seeds": list(range(seeds)), "bootstrap": vars(BOOT)},
        mlflow_run_id=f"run-{variant}-{task}-{strategy}",
        **_model(patch, kind),
    )
    path.write_text(json.dumps(record))
    return str(path)


def write_cbir(
    root: Path, variant: str, set_name: str, *, quality: float, patch: int = 16, kind="csmoe"
) -> str:
    """A CBIR result whose per-query precision / recall are about ``quality``."""
    rng = np.random.default_rng(_key(variant, set_name))
    path = root / "cbir" / variant / f"{set_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    per_query = {}
    for pair in ("s1s1", "s2s2", "s1s2", "s2s1"):
        p = np.clip(quality + 0.2 * rng.normal(size=40), 0, 1)
        r = np.clip(quality + 0.2 * rng.normal(size=40), 0, 1)
        per_query.update(
            {f"{pair}_precision": p, f"{pair}_recall": r, f"{pair}_f1_per_item": (p + r) / 2}
        )
    save_samples(path.with_suffix(".npz"), "retrieval", f"{set_name}-queries", **per_query)
    stored = load_samples(path.with_suffix(".npz"))
    pairs = {
        pair: retrieval_summary(scores_from(stored, pair), BOOT, key=set_name)
        for pair in ("s1s1", "s2s2", "s1s2", "s2s1")
    }
    record = {
        "variant": variant,
        "set": set_name,
        "pairs": pairs,
        "test_data": f"{set_name}-queries",
        "settings": {"bootstrap": vars(BOOT)},
        **_model(patch, kind),
    }
    path.write_text(json.dumps(record))
    return str(path)
