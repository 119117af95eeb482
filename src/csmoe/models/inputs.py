"""Input checks and resizing: bad batches fail with a clear message before any computation."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from csmoe.errors import InputError
from csmoe.models.config import ModelConfig

BAND_NAMES = {"s1": "VV, VH", "s2": "B02 B03 B04 B08 B05 B06 B07 B8A B11 B12"}


def check_images(x: Tensor, modality: str, cfg: ModelConfig) -> None:
    """``x`` must be a float ``[B, bands, img_size, img_size]`` batch for ``modality``."""
    name = f"{modality} input"
    bands = cfg.bands(modality)
    if x.ndim != 4:
        raise InputError(name, f"expected a [B, C, H, W] batch, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(name, f"expected a float tensor, got {x.dtype}")
    if x.shape[1] != bands:
        raise InputError(name, f"expected {bands} bands ({BAND_NAMES[modality]}), got {x.shape[1]}")
    h, w = x.shape[-2:]
    if h != w or h % cfg.patch_size:
        raise InputError(
            name, f"image {h}x{w} is not square or not divisible by patch size {cfg.patch_size}"
        )
    if h != cfg.img_size:
        raise InputError(
            name, f"image {h}x{w} is not the model's {cfg.img_size} px (use fit_to_model)"
        )


def check_pair(s1: Tensor, s2: Tensor, cfg: ModelConfig) -> None:
    check_images(s1, "s1", cfg)
    check_images(s2, "s2", cfg)
    if s1.shape[0] != s2.shape[0]:
        raise InputError("s1/s2 input", f"batch sizes differ: {s1.shape[0]} vs {s2.shape[0]}")


def fit_to_model(x: Tensor, img_size: int) -> Tensor:
    """Resize a ``[B, C, H, W]`` batch to ``img_size`` (bilinear; e.g. 120 px patches → 224)."""
    if x.ndim != 4:
        raise InputError("input", f"expected a [B, C, H, W] batch, got shape {tuple(x.shape)}")
    if x.shape[-2:] == (img_size, img_size):
        return x
    return F.interpolate(x, size=(img_size, img_size), mode="bilinear", align_corners=False)
