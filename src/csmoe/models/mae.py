"""Masked-autoencoder machinery: patchify, random masking, unpatchify (He et al. 2022).

Patch vectors are laid out channel-last inside a patch: ``[p, p, C]`` flattened, row-major
over the patch grid, the same order as the patch-embedding convolution's tokens.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


def patchify(images: Tensor, patch: int) -> Tensor:
    """``[B, C, H, W] -> [B, (H/p)·(W/p), p·p·C]``."""
    b, c, h, w = images.shape
    gh, gw = h // patch, w // patch
    x = images.reshape(b, c, gh, patch, gw, patch)
    # [b, c, gh, p, gw, q] -> [b, gh, gw, p, q, c]
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, gh * gw, patch * patch * c)


def unpatchify(patches: Tensor, patch: int, channels: int) -> Tensor:
    """Inverse of :func:`patchify` for a square grid: ``[B, N, p·p·C] -> [B, C, H, W]``."""
    b, n, _ = patches.shape
    g = round(n**0.5)
    if g * g != n:
        raise ValueError(f"{n} patches do not form a square grid")
    x = patches.reshape(b, g, g, patch, patch, channels)
    # [b, gh, gw, p, q, c] -> [b, c, gh, p, gw, q]
    return x.permute(0, 5, 1, 3, 2, 4).reshape(b, channels, g * patch, g * patch)


class Masking(NamedTuple):
    """One random mask: ``keep`` indices of the visible tokens ``[B, K]`` (ascending order of
    noise), ``restore`` the permutation that puts [visible; masked] back in grid order
    ``[B, N]``, ``mask`` 1 where a patch is hidden ``[B, N]``."""

    keep: Tensor
    restore: Tensor
    mask: Tensor


def random_masking(
    batch: int,
    tokens: int,
    ratio: float,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> Masking:
    """Hide ``round(ratio·tokens)`` patches per sample, chosen uniformly by sorting noise.

    Drawing noise from ``generator`` (on its own device, then moved) makes masks reproducible.
    """
    keep_count = tokens - round(ratio * tokens)
    gen_device = generator.device if generator is not None else device
    noise = torch.rand(batch, tokens, generator=generator, device=gen_device).to(device)
    shuffle = noise.argsort(dim=1)
    restore = shuffle.argsort(dim=1)
    keep = shuffle[:, :keep_count]
    mask = torch.ones(batch, tokens, device=device)
    mask[:, :keep_count] = 0
    mask = torch.gather(mask, 1, restore)
    return Masking(keep, restore, mask)


def gather_tokens(x: Tensor, index: Tensor) -> Tensor:
    """``x[b, index[b, k], :]`` for ``x [B, N, D]`` and ``index [B, K]``."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
