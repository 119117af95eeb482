"""Self-describing checkpoints: safetensors weights + model config, normalisation statistics
and free-form ``extra`` (epoch, variant, ...) as JSON in the file's metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from csmoe.errors import InputError
from csmoe.io import atomic_path
from csmoe.models.config import ModelConfig

_KEYS = ("config", "norm_stats", "extra")


def save(
    path: str | os.PathLike,
    model: Any,
    cfg: ModelConfig,
    norm_stats: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``model``'s weights with ``cfg``, ``norm_stats`` and ``extra`` atomically."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {
        "config": json.dumps(cfg.to_dict(), sort_keys=True),
        "norm_stats": json.dumps(norm_stats or {}, sort_keys=True, default=_plain),
        "extra": json.dumps(extra or {}, sort_keys=True, default=_plain),
        "format": "csmoe-1",
    }
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
        _sort_metadata(tmp)


def _sort_metadata(path: Path) -> None:
    """Rewrite the header of a safetensors file with its metadata keys sorted.

    safetensors writes the metadata map in hash order, which changes from process to
    process: the same weights would give different bytes and SHA-256 (the evaluation cache
    key). The header is the same JSON reordered, so it keeps its length and is rewritten in
    place; the tensors are not touched.
    """
    with open(path, "r+b") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":")).encode()
        if len(text) > size:  # only if serde_json and Python escaped differently
            raise AssertionError(f"{path}: reordered safetensors header grew")
        handle.seek(8)
        handle.write(text.ljust(size))


def load(
    path: str | os.PathLike, device: str = "cpu"
) -> tuple[Any, ModelConfig, dict[str, Any], dict[str, Any]]:
    """Rebuild the model from a checkpoint: ``(model, cfg, norm_stats, extra)``, in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    from csmoe.models.model import build_model

    path = Path(path)
    if not path.exists():
        raise InputError(path, "checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        state = load_file(str(path), device=device)
    except (SafetensorError, OSError) as err:
        raise InputError(path, f"not a readable safetensors file: {err}") from err
    missing = [k for k in _KEYS if k not in metadata]
    if missing:
        raise InputError(path, f"checkpoint metadata lacks {missing} (not a csmoe checkpoint?)")
    cfg = ModelConfig.from_dict(json.loads(metadata["config"]))
    model = build_model(cfg)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise InputError(path, f"weights do not fit the stored config: {err}") from err
    model.to(device).eval()
    return model, cfg, json.loads(metadata["norm_stats"]), json.loads(metadata["extra"])


def _plain(obj: Any) -> Any:
    # numpy/torch arrays and scalars (e.g. band statistics) become lists and numbers
    return obj.tolist() if hasattr(obj, "tolist") else str(obj)
