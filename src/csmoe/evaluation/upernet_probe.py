"""UPerNet probing: a segmentation head trained on cached frozen-encoder layer maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from csmoe.errors import InputError
from csmoe.evaluation.linear_probe import train_present
from csmoe.evaluation.metrics import confusion, mean_iou, scored_classes
from csmoe.log import progress


@dataclass(frozen=True)
class UPerNetConfig:
    """Head and training settings (``evaluation.upernet`` in config; reasons there)."""

    scales: list[float] = field(default_factory=lambda: [4, 2, 1, 0.5])
    channels: int = 32
    pool_bins: list[int] = field(default_factory=lambda: [1, 2, 3, 6])
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-2

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UPerNetConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _batches(n: int, size: int, order: Any = None) -> list[Any]:
    idx = np.arange(n) if order is None else order
    return [idx[s : s + size] for s in range(0, n, size)]


def train_upernet(
    maps: np.ndarray,
    masks: np.ndarray,
    num_classes: int,
    cfg: UPerNetConfig,
    seed: int,
    device: str = "cpu",
) -> Any:
    """Train a UPerNet head on ``maps`` [N, L, D, g, g] against ``masks`` [N, H, W]."""
    import torch
    import torch.nn.functional as F

    from csmoe.models.upernet import UPerNetHead

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    head = UPerNetHead(
        maps.shape[2],
        num_classes,
        scales=cfg.scales,
        channels=cfg.channels,
        pool_bins=cfg.pool_bins,
    ).to(device)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * len(_batches(len(maps), cfg.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, total))
    size = masks.shape[-2:]
    head.train()
    for _ in progress(range(cfg.epochs), desc="upernet epochs"):
        order = torch.randperm(len(maps), generator=gen).numpy()
        for idx in _batches(len(maps), cfg.batch_size, order):
            if len(idx) < 2 and len(maps) > 1:
                continue  # batch norm needs more than one sample per batch
            x = torch.as_tensor(maps[np.sort(idx)], dtype=torch.float32, device=device)
            y = torch.as_tensor(masks[np.sort(idx)], dtype=torch.int64, device=device)
            # labels outside the classes (no-data codes) are ignored, as by the metric
            y = y.masked_fill((y < 0) | (y >= num_classes), -1)
            logits = F.interpolate(head(list(x.unbind(1))), size, mode="bilinear")
            opt.zero_grad()
            F.cross_entropy(logits, y, ignore_index=-1).backward()
            opt.step()
            sched.step()
    head.eval()

    def predict(test_maps: np.ndarray, batch_size: int = cfg.batch_size) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for idx in _batches(len(test_maps), batch_size):
                x = torch.as_tensor(test_maps[idx], dtype=torch.float32, device=device)
                logits = F.interpolate(head(list(x.unbind(1))), size, mode="bilinear")
                out.append(logits.argmax(1).cpu().numpy().astype(np.int16))
        return np.concatenate(out)

    return predict


def probe(
    maps: dict[str, np.ndarray],
    masks: dict[str, np.ndarray],
    num_classes: int,
    cfg: UPerNetConfig,
    *,
    seeds: list[int],
    absent_policy: str,
    where: str,
    n_examples: int = 0,
    device: str = "cpu",
) -> tuple[dict[str, Any], dict[str, np.ndarray], np.ndarray]:
    """Train one head per seed on ``train``; mean IoU on ``valid`` and ``test`` per seed
    (``valid_seeds``, ``test_seeds``); the per-scene test confusion matrices of every seed
    (``confusion`` [S, n, C, C], for the bootstrap); the first seed's first ``n_examples`` test
    predictions (for Fig. 8)."""
    classes, absent = scored_classes(
        train_present(masks["train"], "segmentation", num_classes),
        num_classes,
        absent_policy,
        where=where,
    )
    out: dict[str, Any] = {
        "absent_train_classes": absent,
        "absent_policy": absent_policy,
        "scored_classes": classes,
        "valid_seeds": [],
        "test_seeds": [],
    }
    examples = np.zeros((0,), np.int16)
    per_scene = []
    for seed in seeds:
        predict = train_upernet(maps["train"], masks["train"], num_classes, cfg, seed, device)
        preds = {split: predict(maps[split]) for split in ("valid", "test")}
        for split, pred in preds.items():
            try:
                miou, per_class = mean_iou(masks[split], pred, num_classes, classes)
            except ValueError as err:
                raise InputError(f"{where} ({split} split)", str(err)) from err
            out[f"{split}_seeds"].append(miou)
            if seed == seeds[0]:  # per-class detail and Fig. 8 scenes: the first seed's head
                out[f"{split}_per_class_iou"] = per_class
                out[f"{split}_pixels"] = int(confusion(masks[split], pred, num_classes).sum())
        if seed == seeds[0]:
            examples = preds["test"][:n_examples]
        per_scene.append(
            np.stack(
                [
                    confusion(t, p, num_classes)
                    for t, p in zip(masks["test"], preds["test"], strict=True)
                ]
            )
        )
    return out, {"confusion": np.stack(per_scene)}, examples
