"""Frozen-encoder features, computed once per checkpoint / dataset / split and cached.

A probe of a new head setting, a new strategy table or a rerun after a crash then costs no
encoder pass. The cache is an ``.npz`` beside the results (not a declared Snakemake output, so
a rerun of the probe does not delete it); it stores the key it was computed under (checkpoint
digest, modality, strategies, layers, data fingerprint, code version) and is recomputed when
any of it differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.errors import InputError
from csmoe.io import atomic_path
from csmoe.log import get_logger, progress

log = get_logger(__name__)

# bump when the way features are computed changes: old caches are then ignored
FEATURE_VERSION = 1


def file_digest(path: str | Path, chunk: int = 2**22) -> str:
    """SHA-256 of a file (identifies a checkpoint by content, not by name or date)."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            h.update(block)
    return h.hexdigest()


def array_digest(*arrays: np.ndarray) -> str:
    """Cheap fingerprint of the input data (shape, dtype and a strided sample of values)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, a.dtype.str)).encode())
        flat = a.reshape(-1)
        h.update(flat[:: max(1, flat.size // 65536)].tobytes())
    return h.hexdigest()[:16]


def default_layers(depth: int, n: int) -> list[int]:
    """``n`` encoder layer indices spread over ``depth`` layers, ending at the last one
    (ViT-B, 12 layers, 4 levels: 2, 5, 8, 11 as in the BEiT/MAE segmentation recipes)."""
    return [int(i) for i in np.round(np.linspace(depth / n - 1, depth - 1, n))]


def normalise(x: np.ndarray, norm_stats: dict[str, Any], modality: str, where: str) -> np.ndarray:
    """Standardise per band with the checkpoint's pretraining statistics."""
    try:
        mean = np.asarray(norm_stats[modality]["mean"], np.float32)
        std = np.asarray(norm_stats[modality]["std"], np.float32)
    except (KeyError, TypeError) as err:
        raise InputError(where, f"checkpoint has no {modality} normalisation statistics") from err
    if mean.shape != (x.shape[1],) or std.shape != (x.shape[1],):
        raise InputError(
            where, f"{modality} statistics have {mean.size} bands, the data {x.shape[1]}"
        )
    return (x - mean[None, :, None, None]) / std[None, :, None, None]


def encode(
    model: Any,
    norm_stats: dict[str, Any],
    images: np.ndarray,
    modality: str,
    *,
    strategies: Sequence[str] = (),
    layers: Sequence[int] = (),
    batch_size: int = 64,
    where: str = "input",
) -> dict[str, np.ndarray]:
    """Pooled features per strategy ([N, D] float32) and, with ``layers``, the token maps of
    those layers as ``maps`` [N, L, D, g, g] (float16: halves the cache, ample for a probe)."""
    import torch

    from csmoe.evaluation.strategies import pool
    from csmoe.models.inputs import fit_to_model

    if len(images) == 0:
        raise InputError(where, "no images to encode")
    cfg = model.cfg
    outs: dict[str, list[np.ndarray]] = {s: [] for s in strategies}
    maps: list[np.ndarray] = []
    starts = range(0, len(images), batch_size)
    with torch.inference_mode():
        for start in progress(starts, desc=f"encode {where}", total=len(starts), logger=log):
            batch = normalise(images[start : start + batch_size], norm_stats, modality, where)
            x = fit_to_model(torch.as_tensor(batch, dtype=torch.float32), cfg.img_size)
            out = model.encode(x, modality, layers=tuple(layers))
            for s in strategies:
                outs[s].append(pool(out, s).float().numpy())
            if layers:
                g = out.grid
                stacked = torch.stack([h[:, 1:] for h in out.hidden], dim=1)  # [B, L, N, D]
                b, n_layers, _, d = stacked.shape
                grid = stacked.transpose(2, 3).reshape(b, n_layers, d, g, g)
                maps.append(grid.to(torch.float16).numpy())
    result = {s: np.concatenate(v) for s, v in outs.items()}
    if layers:
        result["maps"] = np.concatenate(maps)
    return result


def cached(
    path: str | Path, key: dict[str, Any], compute: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Load ``path`` if it was computed under ``key``; else ``compute()`` and store it."""
    path = Path(path)
    want = json.dumps({**key, "version": FEATURE_VERSION}, sort_keys=True)
    if path.exists():
        try:
            with np.load(path) as data:
                if str(data["__key__"]) == want:
                    log.info("features from cache %s", path)
                    return {k: data[k] for k in data.files if k != "__key__"}
        except (OSError, ValueError, KeyError) as err:
            log.warning("ignoring unreadable feature cache %s: %s", path, err)
        log.info("feature cache %s is stale: recomputing", path)
    result = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, __key__=np.array(want), **result)
    return result
