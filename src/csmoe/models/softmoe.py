"""Soft Mixture-of-Experts (Puigcerver et al., ICLR 2024; CSMoE paper Eq. 12-13, 18-19).

Axis names used in the einsum comments:
    b batch, n tokens, d model width, e experts, s slots per expert, h expert hidden width.

Routing (Eq. 12): logits[b,n,e,s] = scale · <x̂[b,n], φ̂[e,s]> / τ with x̂, φ̂ L2-normalised along
d (the reference implementations' normalisation; ``scale`` is one learnable scalar, init 1).
Dispatch D = softmax over tokens n (each slot is a convex combination of tokens, Eq. 13);
combine C = softmax over all slots (e, s) (each output token is a convex combination of
the slot outputs). Every expert processes only its own s slots, so the experts see
e·s inputs whatever the number of tokens.

Regularisers (the paper's exact forms were lost in extraction; these are ours):
- slot repulsion (Eq. 18): mean squared off-diagonal cosine similarity between the slot
  inputs x̃[b,e,s] = Σ_n D[b,n,e,s] x[b,n] of one sample, averaged over the batch. It is 0 when
  all slots are mutually orthogonal and 1 when they have collapsed onto one direction.
- expert-usage entropy (Eq. 19): u[e] = mean over batch and tokens of Σ_s C[b,n,e,s] (the share
  of the output that expert e produces); loss = log(E) − H(u) with H(u) = −Σ_e u_e log(u_e + ε).
  It is 0 when every expert is used equally and log(E) when one expert does everything.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ENTROPY_EPS = 1e-9
NORM_EPS = 1e-12  # as F.normalize


class RoutingLosses(NamedTuple):
    repulsion: Tensor
    entropy: Tensor


class SoftMoE(nn.Module):
    """Soft MoE replacing a transformer MLP: ``num_experts`` MLPs ``dim → hidden → dim``."""

    def __init__(
        self,
        dim: int,
        hidden: int,
        num_experts: int,
        slots_per_expert: int,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.slots_per_expert = slots_per_expert
        self.temperature = temperature
        # φ: one d-vector per slot, [e, s, d]
        self.slot_embeds = nn.Parameter(torch.randn(num_experts, slots_per_expert, dim) / dim**0.5)
        self.scale = nn.Parameter(torch.ones(()))
        # stacked expert weights: one batched matmul runs every expert
        self.w1 = nn.Parameter(torch.empty(num_experts, dim, hidden))
        self.b1 = nn.Parameter(torch.zeros(num_experts, hidden))
        self.w2 = nn.Parameter(torch.empty(num_experts, hidden, dim))
        self.b2 = nn.Parameter(torch.zeros(num_experts, dim))
        bound = math.sqrt(6 / (dim + hidden))  # Xavier-uniform per expert, as MAE's MLPs
        for w in (self.w1, self.w2):
            nn.init.uniform_(w, -bound, bound)

    def routing(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Dispatch and combine weights, both ``[b, n, e, s]``."""
        b, n, _ = x.shape
        e, s = self.num_experts, self.slots_per_expert
        # scale/τ folded into the small φ̂; x̂·φ̂ = (x·φ̂)/‖x‖ divides [b, n, e·s], not [b, n, d]
        phi = F.normalize(self.slot_embeds, dim=-1) * (self.scale / self.temperature)
        # logits: [b, n, d] · [e, s, d] -> [b, n, e, s]
        logits = torch.einsum("bnd,esd->bnes", x, phi)
        logits = logits / x.norm(dim=-1).clamp_min(NORM_EPS)[:, :, None, None]
        dispatch = logits.softmax(dim=1)  # over tokens n
        combine = logits.reshape(b, n, e * s).softmax(dim=-1).reshape(b, n, e, s)  # over slots
        return dispatch, combine

    def experts(self, slots: Tensor) -> Tensor:
        """All experts at once: ``[b, e, s, d] -> [b, e, s, d]``."""
        b, e, s, d = slots.shape
        # expert-major rows: [b, e, s, d] -> [e, b·s, d]
        rows = slots.transpose(0, 1).reshape(e, b * s, d)
        # [e, b·s, d] · [e, d, h] -> [e, b·s, h], bias fused
        hidden = F.gelu(torch.baddbmm(self.b1[:, None, :], rows, self.w1))
        # [e, b·s, h] · [e, h, d] -> [e, b·s, d]
        out = torch.baddbmm(self.b2[:, None, :], hidden, self.w2)
        return out.reshape(e, b, s, d).transpose(0, 1)

    def forward(self, x: Tensor, routing: list[RoutingLosses] | None = None) -> Tensor:
        """Mix ``x`` ``[b, n, d]``; append this layer's regularisers to ``routing`` if given
        (pretraining only: inference skips their cost)."""
        dispatch, combine = self.routing(x)
        # slot inputs (Eq. 13): [b, n, d] · [b, n, e, s] -> [b, e, s, d]
        slots = torch.einsum("bnd,bnes->besd", x, dispatch)
        outputs = self.experts(slots)
        if routing is not None:
            routing.append(RoutingLosses(slot_repulsion(slots), usage_entropy_gap(combine)))
        # recombine per token: [b, e, s, d] · [b, n, e, s] -> [b, n, d]
        return torch.einsum("besd,bnes->bnd", outputs, combine)


def slot_repulsion(slots: Tensor) -> Tensor:
    """Mean squared off-diagonal cosine similarity of the slots ``[b, e, s, d]`` per sample."""
    b, e, s, d = slots.shape
    unit = F.normalize(slots.reshape(b, e * s, d), dim=-1)
    # Gram matrix of the slots: [b, k, d] · [b, l, d] -> [b, k, l]
    gram = torch.einsum("bkd,bld->bkl", unit, unit)
    k = e * s
    if k < 2:
        return gram.new_zeros(())
    off_diag = gram - torch.eye(k, device=gram.device, dtype=gram.dtype)
    return off_diag.pow(2).sum(dim=(1, 2)).mean() / (k * (k - 1))


def usage_entropy_gap(combine: Tensor, eps: float = ENTROPY_EPS) -> Tensor:
    """``log(E) − H(u)`` of the expert usage ``u`` from the combine weights ``[b, n, e, s]``."""
    usage = combine.sum(dim=-1).mean(dim=(0, 1))  # [e], sums to 1
    entropy = -(usage * torch.log(usage + eps)).sum()
    return math.log(usage.numel()) - entropy
