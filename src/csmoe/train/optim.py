"""AdamW parameter groups: which parameters are decayed (MAE's recipe).

MAE decays weight matrices only: no weight decay on biases, norm weights, the [CLS] and mask
tokens or position embeddings, whose scale is their meaning (decay would pull a LayerNorm gain
or a learned token towards zero). The test is by role, not by shape: the Soft MoE's stacked
expert biases ``b1`` / ``b2`` are 2-D (one row per expert) and still biases, and its router
``scale`` is a temperature. Position embeddings are fixed sine-cosine buffers in this model,
so they never reach the optimizer.
"""

from __future__ import annotations

from typing import Any

from torch import nn

# parameters named so are biases (b1/b2: the stacked expert biases), tokens or the router's scale
NO_DECAY_NAMES = frozenset({"bias", "b1", "b2", "cls_token", "mask_token", "scale"})
NORMS = (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d)


def decay_split(model: nn.Module) -> tuple[list[str], list[str]]:
    """Names of the trainable parameters with weight decay, and of those without."""
    decay, no_decay = [], []
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            full = f"{module_name}.{name}" if module_name else name
            exempt = isinstance(module, NORMS) or name in NO_DECAY_NAMES or param.ndim < 2
            (no_decay if exempt else decay).append(full)
    return decay, no_decay


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The two AdamW groups of :func:`decay_split`: ``weight_decay`` and 0."""
    params = dict(model.named_parameters())
    decay, no_decay = decay_split(model)
    return [
        {"params": [params[n] for n in decay], "weight_decay": weight_decay},
        {"params": [params[n] for n in no_decay], "weight_decay": 0.0},
    ]
