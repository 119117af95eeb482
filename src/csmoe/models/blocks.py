"""Transformer pieces: pre-norm ViT block whose MLP is either dense or a Soft MoE."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from csmoe.models.softmoe import RoutingLosses, SoftMoE


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        # [b, n, 3·d] -> 3 × [b, heads, n, d/heads]
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """``x + attn(norm(x))`` then ``x + ffn(norm(x))``; ``ffn`` is an ``Mlp`` or a ``SoftMoE``."""

    def __init__(self, dim: int, heads: int, ffn: nn.Module) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = ffn

    def forward(self, x: Tensor, routing: list[RoutingLosses] | None = None) -> Tensor:
        x = x + self.attn(self.norm1(x))
        h = self.norm2(x)
        return x + (self.ffn(h, routing) if isinstance(self.ffn, SoftMoE) else self.ffn(h))


def make_block(
    dim: int,
    heads: int,
    mlp_ratio: float,
    moe: bool,
    experts: int = 0,
    slots: int = 0,
    temperature: float = 1.0,
) -> Block:
    """A block with a dense MLP, or with a Soft MoE of ``experts`` × ``slots`` when ``moe``."""
    hidden = int(dim * mlp_ratio)
    ffn = SoftMoE(dim, hidden, experts, slots, temperature) if moe else Mlp(dim, hidden)
    return Block(dim, heads, ffn)


def sincos_pos_embed(dim: int, grid: int, cls: bool = True) -> Tensor:
    """Fixed 2-D sine-cosine position embeddings (MAE), ``[1 + grid², dim]`` with a zero row for
    [CLS]. Fixed rather than learned so that they carry no parameters and no patch-size bias."""
    coords = np.arange(grid, dtype=np.float64)
    rows, cols = np.meshgrid(coords, coords, indexing="ij")
    quarter = dim // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)
    parts = []
    for pos in (rows.reshape(-1), cols.reshape(-1)):
        angles = np.outer(pos, omega)
        parts += [np.sin(angles), np.cos(angles)]
    emb = np.concatenate(parts, axis=1)
    emb = np.pad(emb, ((0, 0), (0, dim - emb.shape[1])))
    if cls:
        emb = np.concatenate([np.zeros((1, dim)), emb], axis=0)
    return torch.tensor(emb, dtype=torch.float32)  # honours a torch.device context (meta)
