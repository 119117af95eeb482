"""Soft MoE, CSMoE, CSMAE and their complexity account.

Only the torch-free config is imported eagerly; the model classes load on first access so
that ``csmoe --help`` (which imports ``csmoe.models.cli``) stays fast.
"""

from __future__ import annotations

from typing import Any

from csmoe.models.config import ModelConfig

_LAZY = {
    "build_model": "csmoe.models.model",
    "CrossSensorMAE": "csmoe.models.model",
    "ModelOutput": "csmoe.models.model",
    "EncoderOutput": "csmoe.models.model",
    "SoftMoE": "csmoe.models.softmoe",
}

__all__ = ["ModelConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
