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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.errors import InputError
from csmoe.io import atomic_path
from csmoe.log import get_logger, progress

log = get_logger(__name__)

# bump when the way features are computed changes: old caches are then ignored
FEATURE_VERSION = 2


def file_digest(path: str | Path, chunk: int = 2**22) -> str:
    """SHA-256 of a file (identifies a checkpoint by content, not by name or date)."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            h.update(block)
    return h.hexdigest()


def reader_digest(reader: Any, names: Sequence[str], *arrays: np.ndarray, n: int = 32) -> str:
    """Fingerprint of a lazily read split without reading all of it: its sample names in
    order, ``arrays`` (e.g. labels held in memory) and the full content of ``n`` evenly
    spaced samples (``reader[i]``: a tuple of arrays, or None for a missing modality)."""
    h = hashlib.sha256(json.dumps(list(names)).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, a.dtype.str)).encode() + a.tobytes())
    for i in np.unique(np.linspace(0, len(reader) - 1, min(n, len(reader))).astype(int)):
        for a in reader[int(i)]:
            if a is not None:
                a = np.ascontiguousarray(a)
                h.update(repr((a.shape, a.dtype.str)).encode() + a.tobytes())
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
    batches: Iterable[Mapping[str, np.ndarray]],
    n: int,
    *,
    strategies: Sequence[str] = (),
    layers: Sequence[int] = (),
    where: str = "input",
    total_batches: int | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Frozen features of ``n`` samples streamed as ``batches`` ({modality: [B, C, H, W]}).

    Per modality: pooled features per strategy ([n, D] float32) and, with ``layers``, the
    token maps of those layers as ``maps`` [n, L, D, g, g] (float16: halves the cache, ample
    for a probe). Only one batch of pixels is held at a time and the outputs are allocated
    once at their final size, so the peak memory is the features plus one batch (a paper-scale
    split's pixels never are in memory). Several modalities of one batch (S1 and S2 of a pair)
    are encoded from a single read.
    """
    import torch

    from csmoe.evaluation.strategies import pool
    from csmoe.models.inputs import fit_to_model

    if n == 0:
        raise InputError(where, "no images to encode")
    cfg = model.cfg
    device = next(model.parameters()).device
    result: dict[str, dict[str, np.ndarray]] = {}
    done = 0
    with torch.inference_mode():
        for batch in progress(batches, desc=f"encode {where}", total=total_batches, logger=log):
            size = 0
            for modality, images in batch.items():
                size = len(images)
                if done + size > n:
                    raise InputError(where, f"more than the {n} samples announced")
                x = normalise(images, norm_stats, modality, where)
                x = torch.as_tensor(x, dtype=torch.float32, device=device)
                out = model.encode(fit_to_model(x, cfg.img_size), modality, layers=tuple(layers))
                parts = {s: pool(out, s).float() for s in strategies}
                if layers:
                    g = out.grid
                    stacked = torch.stack([h[:, 1:] for h in out.hidden], dim=1)  # [B, L, N, D]
                    b, n_layers, _, d = stacked.shape
                    parts["maps"] = stacked.transpose(2, 3).reshape(b, n_layers, d, g, g).half()
                _check_finite(parts, modality, where, done, size)
                dest = result.setdefault(modality, {})
                for name, part in parts.items():
                    value = part.cpu().numpy()
                    if name not in dest:
                        dest[name] = np.empty((n, *value.shape[1:]), value.dtype)
                    dest[name][done : done + size] = value
            done += size
    if done != n:
        raise InputError(where, f"{done} samples read, {n} announced")
    return result


def _check_finite(parts: Mapping[str, Any], modality: str, where: str, start: int, n: int) -> None:
    """A NaN/inf feature would score as chance without any error: refuse it (its cause is a
    non-finite input pixel or checkpoint weight, or a value beyond float16 in a map)."""
    import torch

    for name, part in parts.items():
        if not bool(torch.isfinite(part).all()):
            raise InputError(
                where,
                f"non-finite {modality} features ({name}) for samples {start}-{start + n - 1}: "
                "NaN/inf in those images or in the checkpoint",
            )


def encode_reader(
    model: Any,
    norm_stats: dict[str, Any],
    reader: Any,
    modalities: Sequence[str],
    *,
    batch_size: int,
    strategies: Sequence[str] = (),
    layers: Sequence[int] = (),
    where: str = "input",
) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """:func:`encode` a lazy split (``open_task`` / ``open_pairs``) read ``batch_size``
    samples at a time, in one pass for all ``modalities``; also returns its labels."""
    labels: list[np.ndarray] = []

    def batches() -> Iterator[dict[str, np.ndarray]]:
        for batch in reader.batches(batch_size):
            labels.append(batch.labels)
            yield {m: getattr(batch, m) for m in modalities}

    feats = encode(
        model,
        norm_stats,
        batches(),
        len(reader),
        strategies=strategies,
        layers=layers,
        where=where,
        total_batches=-(-len(reader) // batch_size),
    )
    return feats, np.concatenate(labels)


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
