"""UPerNet head (Xiao et al. 2018) over a plain ViT, as used for segmentation probing.

A ViT has one resolution, so the feature pyramid is built from intermediate encoder layers
(as in the BEiT/MAE segmentation recipes): the token maps of ``len(scales)`` layers are
resampled to ``scales`` (e.g. 4x, 2x, 1x, 0.5x of the patch grid) by transposed convolutions or
max pooling. On top of the pyramid: a pyramid pooling module (PPM) on the coarsest level, an
FPN top-down path with lateral 1x1 and output 3x3 convolutions, and a fusion of all levels at
the finest scale followed by a 1x1 classifier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def resampler(dim: int, scale: float) -> nn.Module:
    """Bring a [B, dim, g, g] map to ``scale`` x g (a power of two)."""
    steps = math.log2(scale)
    if steps != int(steps):
        raise ValueError(f"pyramid scale {scale} is not a power of two")
    steps = int(steps)
    if steps == 0:
        return nn.Identity()
    if steps < 0:
        return nn.MaxPool2d(kernel_size=2 ** (-steps))
    layers: list[nn.Module] = []
    for i in range(steps):
        layers.append(nn.ConvTranspose2d(dim, dim, kernel_size=2, stride=2))
        if i < steps - 1:
            layers += [nn.BatchNorm2d(dim), nn.GELU()]
    return nn.Sequential(*layers)


class PyramidPooling(nn.Module):
    """PPM: average-pool to each bin size, 1x1 conv, upsample, concatenate with the input."""

    def __init__(self, cin: int, channels: int, bins: Sequence[int]) -> None:
        super().__init__()
        self.bins = tuple(bins)
        self.stages = nn.ModuleList(conv_bn_relu(cin, channels, 1) for _ in self.bins)
        self.bottleneck = conv_bn_relu(cin + len(self.bins) * channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pooled = [
            F.interpolate(stage(F.adaptive_avg_pool2d(x, b)), size, mode="bilinear")
            for b, stage in zip(self.bins, self.stages, strict=True)
        ]
        return self.bottleneck(torch.cat([x, *pooled], dim=1))


class UPerNetHead(nn.Module):
    """Segmentation head over ``EncoderOutput.hidden`` (one [B, 1+N, D] per chosen layer).

    ``scales`` gives the resampling of each layer's map, finest first; the output logits have
    the finest scale's resolution (``max(scales)`` x the patch grid) and are upsampled to the
    label size by the caller.
    """

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        *,
        scales: Sequence[float] = (4, 2, 1, 0.5),
        channels: int = 64,
        pool_bins: Sequence[int] = (1, 2, 3, 6),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if list(scales) != sorted(scales, reverse=True):
            raise ValueError(f"pyramid scales must go from fine to coarse, got {list(scales)}")
        self.scales = tuple(scales)
        self.resample = nn.ModuleList(resampler(in_dim, s) for s in self.scales)
        self.lateral = nn.ModuleList(conv_bn_relu(in_dim, channels, 1) for _ in self.scales[:-1])
        self.ppm = PyramidPooling(in_dim, channels, pool_bins)
        self.fpn_out = nn.ModuleList(conv_bn_relu(channels, channels, 3) for _ in self.scales[:-1])
        self.fuse = conv_bn_relu(len(self.scales) * channels, channels, 3)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    @staticmethod
    def token_map(hidden: torch.Tensor) -> torch.Tensor:
        """[B, 1+N, D] tokens ([CLS] first) -> [B, D, g, g] patch map."""
        b, n, d = hidden.shape
        g = math.isqrt(n - 1)
        if g * g != n - 1:
            raise ValueError(f"{n - 1} patch tokens do not form a square grid")
        return hidden[:, 1:].transpose(1, 2).reshape(b, d, g, g)

    def forward(self, hidden: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(hidden) != len(self.scales):
            raise ValueError(f"UPerNet expects {len(self.scales)} layers, got {len(hidden)}")
        maps = [
            r(h if h.dim() == 4 else self.token_map(h))
            for r, h in zip(self.resample, hidden, strict=True)
        ]
        levels = [lat(m) for lat, m in zip(self.lateral, maps[:-1], strict=True)]
        levels.append(self.ppm(maps[-1]))
        for i in range(len(levels) - 1, 0, -1):  # top-down: coarse adds into finer
            levels[i - 1] = levels[i - 1] + F.interpolate(
                levels[i], levels[i - 1].shape[-2:], mode="bilinear"
            )
        outs = [conv(lv) for conv, lv in zip(self.fpn_out, levels[:-1], strict=True)]
        outs.append(levels[-1])
        size = outs[0].shape[-2:]
        fused = self.fuse(
            torch.cat([outs[0], *(F.interpolate(o, size, mode="bilinear") for o in outs[1:])], 1)
        )
        return self.classifier(self.dropout(fused))
