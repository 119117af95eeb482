"""Shared pieces of the pretraining tests: a tiny model, settings from the schema, a tiny
structured patch store written with the data stage's writer."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from csmoe.config import validate_config
from csmoe.io import write_json
from csmoe.train.variants import PretrainJob

TINY_MODEL: dict[str, Any] = {
    "kind": "csmoe",
    "img_size": 32,
    "patch_size": 8,
    "dim": 16,
    "heads": 2,
    "modality_layers": 1,
    "shared_layers": 1,
    "decoder_dim": 16,
    "decoder_heads": 2,
    "decoder_layers": 1,
    "proj_dim": 8,
    "num_experts": 2,
    "moe_modality_layers": [0],
    "moe_shared_layers": [0],
}


def schema_settings(**overrides: Any) -> dict[str, Any]:
    """The pretrain section as the schema fills it, with ``overrides``."""
    config = validate_config({"targets": [], "mlflow": {}, "pretrain": dict(overrides)})
    return config["pretrain"]


def make_job(
    tmp_path: Path, variant: str = "tiny", model: dict[str, Any] | None = None, **settings: Any
) -> PretrainJob:
    from csmoe.models.config import ModelConfig

    base = {
        "epochs": 2,
        "ckpt_every": 1,
        "batch_size": 8,
        "micro_batch_size": 4,
        "lr": 3e-3,
        "warmup_epochs": 0.5,
        "state_dir": str(tmp_path / "state"),
    }
    cfg = ModelConfig.from_dict({**TINY_MODEL, **(model or {})})
    return PretrainJob(
        variant, "mtom_mu", cfg.to_dict(), schema_settings(**{**base, **settings}), 0
    )


def _scene(rng: np.random.Generator, px: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth, learnable patches: a few plane waves per patch, S1 a mix of the S2 bands."""
    y, x = np.mgrid[0:px, 0:px] / px
    waves = [
        np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y) + rng.uniform(0, 6))
        for _ in range(3)
    ]
    basis = np.stack(waves)  # [3, px, px]
    s2 = np.einsum("bk,kyx->byx", rng.uniform(0.2, 1.0, (10, 3)), basis)
    s1 = np.einsum("bk,kyx->byx", rng.uniform(-1.0, 1.0, (2, 3)), basis)
    s2 = (2000 + 800 * s2).clip(0, 10000).astype(np.uint16)
    s1 = (-15 + 3 * s1).astype(np.float32)
    return s2, s1


def make_store(
    root: Path, tiles: int = 6, per_tile: int = 8, seed: int = 0, val_fraction: float = 0.25
) -> tuple[Path, Path]:
    """A patch store of ``tiles * per_tile`` 120 px patches + stats.json."""
    from csmoe.data.store import PatchWriter, StoreLayout

    store, stats = root / "store.zarr", root / "stats.json"
    layout = StoreLayout(patch_px=120, chunk_patches=8, shard_patches=16, mix_patches=16)
    if store.exists():  # rebuilt in place, as the data stage does
        shutil.rmtree(store)
    writer = PatchWriter(store, layout, seed)
    rng = np.random.default_rng(seed)
    for tile in range(tiles):
        pairs = [_scene(rng, 120) for _ in range(per_tile)]
        writer.add(
            SimpleNamespace(
                s2=np.stack([p[0] for p in pairs]),
                s1=np.stack([p[1] for p in pairs]),
                positions=np.stack([[i // 8, i % 8] for i in range(per_tile)]).astype(np.int16),
                grid_cell=f"{tile}U_0R",
            )
        )
    write_json(stats, writer.close(val_fraction=val_fraction))
    return store, stats
