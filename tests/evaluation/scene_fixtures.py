"""Tiny generated data for the evaluation tests: scenes from the mini-world synthesiser and
GEO-Bench-format tasks rendered from them (labels follow the land cover)."""

from __future__ import annotations

import json

import numpy as np

from csmoe.data.geobench import task_dir
from csmoe.data.geobench_format import get_task
from csmoe.data.geobench_pickle import write_sample
from csmoe.world.scenes import render_scene

TINY_MODEL = dict(
    img_size=32,
    patch_size=8,
    dim=32,
    heads=2,
    modality_layers=1,
    shared_layers=1,
    decoder_dim=32,
    decoder_layers=1,
    decoder_heads=2,
    proj_dim=16,
    num_experts=2,
    moe_modality_layers=[0],
    moe_shared_layers=[0],
    slots_per_expert=4,
)
LANDCOVER = (10, 20, 30, 40, 50, 60, 80, 90)
CLIMATES = ("Af", "BWh", "Cfb", "Dfb", "ET", "Csa")


def scenes(n: int, seed: int, size: int = 32) -> list:
    """``n`` scenes with random dominant land cover, climate and place (same seed, same list)."""
    rng = np.random.default_rng(seed)
    return [
        render_scene(
            float(rng.uniform(-60, 60)),
            float(rng.uniform(-180, 180)),
            CLIMATES[rng.integers(len(CLIMATES))],
            LANDCOVER[rng.integers(len(LANDCOVER))],
            size_px=size,
            seed=int(rng.integers(2**31)),
        )
        for _ in range(n)
    ]


def class_index(codes: np.ndarray) -> np.ndarray:
    """WorldCover codes -> 0..7 (our land-cover classes)."""
    return np.searchsorted(np.array(LANDCOVER), codes).clip(0, len(LANDCOVER) - 1)


def label_of(scene, kind: str, num_classes: int):
    if kind == "multiclass":
        return int(LANDCOVER.index(scene.landcover))
    if kind == "multilabel":
        out = np.zeros(num_classes, np.uint8)
        out[np.unique(class_index(scene.classes))] = 1
        return out
    return class_index(scene.classes).astype(np.int16)


def write_task(root, task: str, sizes=(24, 8, 8), seed: int = 0) -> None:
    """A GEO-Bench-format task of rendered scenes (labels follow the land cover)."""
    spec = get_task(task)
    folder = task_dir(root, task)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for k, (split, n) in enumerate(zip(("train", "valid", "test"), sizes, strict=True)):
        names = []
        for i, scene in enumerate(scenes(n, 10 * seed + k)):
            name = f"{split}_{i}"
            bands = {
                stored: (
                    scene.s2_bands([code])[0] / spec.s2_scale
                    if code.startswith("B")
                    else np.zeros(scene.classes.shape, np.float32)
                )
                for stored, code in zip(spec.stored, spec.content, strict=True)
            }
            write_sample(
                folder / f"{name}.hdf5", spec, bands, label_of(scene, spec.kind, spec.num_classes)
            )
            names.append(name)
        parts[split] = names
    (folder / "default_partition.json").write_text(json.dumps(parts))


def norm_stats(items) -> dict:
    s1 = np.stack([s.s1_db for s in items])
    s2 = np.stack([s.s2 for s in items])
    return {
        m: {"mean": x.mean((0, 2, 3)).tolist(), "std": x.std((0, 2, 3)).tolist()}
        for m, x in (("s1", s1), ("s2", s2))
    }
