"""Pretraining losses: masked reconstruction (paper Eq. 4, 9) and NT-Xent (Eq. 10-11)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor, norm_pix: bool = False) -> Tensor:
    """Mean squared error over the hidden patches only.

    ``pred``/``target`` ``[B, N, p·p·C]``, ``mask`` ``[B, N]`` with 1 = hidden. With
    ``norm_pix`` each target patch is standardised first (MAE's optional target).
    """
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
    per_patch = (pred - target).pow(2).mean(dim=-1)
    return (per_patch * mask).sum() / mask.sum().clamp_min(1)


def nt_xent(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """Normalised temperature-scaled cross entropy between paired projections ``[B, P]``.

    The 2B vectors are compared by cosine similarity; each one's positive is its partner from
    the other modality, the other 2B − 2 are negatives; averaged over all 2B anchors.
    """
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=-1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, partner)
