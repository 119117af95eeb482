"""Self-describing checkpoints: safetensors weights + model config, normalisation statistics
and free-form ``extra`` (epoch, variant, ...) as JSON in the file's metadata.

The metadata also holds the SHA-256 of the tensor bytes, checked on load: safetensors has no
checksum of its own, so a flipped bit in the weights would otherwise load silently.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

from csmoe.errors import CsmoeError, InputError, brief
from csmoe.io import atomic_path
from csmoe.models.config import ModelConfig

_KEYS = ("config", "norm_stats", "extra")
DIGEST_KEY = "weights_sha256"


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
        DIGEST_KEY: "0" * 64,  # placeholder of the digest's length, filled in below
    }
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
        _finish_header(tmp)


def _finish_header(path: Path) -> None:
    """Put the digest of the tensor bytes in the header and sort the metadata keys.

    safetensors writes the metadata map in hash order, which changes from process to
    process: the same weights would give different bytes and SHA-256 (the evaluation cache
    key). The new header is the same JSON reordered, with a value of the placeholder's
    length, so it is rewritten in place; the tensors are not touched.
    """
    with open(path, "r+b") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
        header["__metadata__"][DIGEST_KEY] = _data_digest(handle)
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":")).encode()
        if len(text) > size:  # only if serde_json and Python escaped differently
            raise AssertionError(f"{path}: rewritten safetensors header grew")
        handle.seek(8)
        handle.write(text.ljust(size))


def _data_digest(handle: BinaryIO) -> str:
    """SHA-256 of the rest of the file (``handle`` placed at the first tensor byte)."""
    digest = hashlib.sha256()
    while block := handle.read(1 << 22):
        digest.update(block)
    return digest.hexdigest()


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
        _check_digest(path, metadata.get(DIGEST_KEY))
        state = load_file(str(path), device=device)
    except (SafetensorError, OSError) as err:
        raise InputError(path, f"not a readable safetensors file: {brief(err)}") from err
    missing = [k for k in _KEYS if k not in metadata]
    if missing:
        raise InputError(path, f"checkpoint metadata lacks {missing} (not a csmoe checkpoint?)")
    try:
        config, norm_stats, extra = (json.loads(metadata[k]) for k in _KEYS)
        if not all(isinstance(v, dict) for v in (config, norm_stats, extra)):
            raise TypeError("config, norm_stats and extra must be JSON objects")
        cfg = ModelConfig.from_dict(config)
    except (ValueError, TypeError, CsmoeError) as err:
        raise InputError(path, f"checkpoint metadata unusable: {brief(err)}") from err
    model = build_model(cfg)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise InputError(path, f"weights do not fit the stored config: {brief(err)}") from err
    model.to(device).eval()
    return model, cfg, norm_stats, extra


def _check_digest(path: Path, stored: str | None) -> None:
    """Compare the tensor bytes with the digest written at save (older files have none)."""
    if stored is None:
        return
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        handle.seek(8 + size)
        if _data_digest(handle) != stored:
            raise InputError(path, "weights do not match the checksum written with them (corrupt)")


def _plain(obj: Any) -> Any:
    # numpy/torch arrays and scalars (e.g. band statistics) become lists and numbers
    return obj.tolist() if hasattr(obj, "tolist") else str(obj)
