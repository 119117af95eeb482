"""The five ways of turning encoder tokens into one feature vector (paper Table V)."""

from __future__ import annotations

from typing import Any

# name -> label used in Table V
STRATEGIES: dict[str, str] = {
    "avg_no_cls": "avg. w/o. [CLS]",
    "avg_all": "avg. all tokens",
    "cls": "only [CLS]",
    "cls_norm": "norm. [CLS]",
    "cls_norm_proj": "norm. & proj. [CLS]",
}


def pool(output: Any, strategy: str) -> Any:
    """Feature [B, D'] of an ``EncoderOutput`` (tokens [B, 1+N, D] with [CLS] first, cls,
    projected_cls) under ``strategy``. The normalised variants reuse the L2 normalisation of the
    contrastive pretraining loss, which is what Table V tests."""
    import torch.nn.functional as F

    if strategy == "avg_no_cls":
        return output.tokens[:, 1:].mean(dim=1)
    if strategy == "avg_all":
        return output.tokens.mean(dim=1)
    if strategy == "cls":
        return output.cls
    if strategy == "cls_norm":
        return F.normalize(output.cls, dim=-1)
    if strategy == "cls_norm_proj":
        return F.normalize(output.projected_cls, dim=-1)
    raise ValueError(f"unknown [CLS] strategy {strategy!r}; known: {sorted(STRATEGIES)}")
