"""The full training state of a run, kept outside Snakemake's declared outputs.

Snakemake deletes the outputs of a failed or killed job, so everything a rerun needs to
continue lives in the state folder (default ``results/.state/pretrain/{variant}/``):
``state.pt`` (weights, optimizer, scheduler, position in the data, history, MLflow run) and
``ckpt/`` (the weight checkpoints written so far, republished into the output folder).
Once the last epoch is done, ``state.pt`` shrinks to a *finished* record (position, history,
MLflow run): the weights are in ``ckpt/``, and the optimizer state (twice the weights, ~3.4 GB
per paper-width model) is never needed again. A rerun then only republishes the outputs.

Randomness needs no saved generator state: data order and masks are pure functions of
(seed, epoch, step, chunk) (see :mod:`csmoe.train.plan`), so the position *is* the RNG state.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csmoe.errors import InputError, brief
from csmoe.io import atomic_path
from csmoe.log import get_logger

log = get_logger(__name__)


@dataclass
class Progress:
    """Where a run stands: ``epoch`` (0-based, the one in progress) and ``step`` (optimizer
    steps already done in it); ``sums`` the partial sums of this epoch's loss terms (summed
    over all processes, weighted by samples) and ``history`` one row per finished epoch."""

    epoch: int = 0
    step: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    run_id: str | None = None


class StateDir:
    """The state folder of one variant."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.state = self.root / "state.pt"
        self.ckpt = self.root / "ckpt"

    def save(
        self, fingerprint: str, progress: Progress, model: Any, optimizer: Any, scheduler: Any
    ) -> None:
        """Write the state atomically (main process only: the replicas are identical)."""
        import torch

        payload = {
            "fingerprint": fingerprint,
            "progress": vars(progress),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        }
        with atomic_path(self.state) as tmp:
            torch.save(payload, tmp)

    def finish(self, fingerprint: str, progress: Progress) -> None:
        """Replace the state by the finished record (see the module docstring)."""
        import torch

        payload = {"fingerprint": fingerprint, "progress": vars(progress), "finished": True}
        with atomic_path(self.state) as tmp:
            torch.save(payload, tmp)

    def load(self, fingerprint: str) -> dict[str, Any] | None:
        """The saved state if it belongs to this exact configuration, else ``None``."""
        import torch

        if not self.state.exists():
            return None
        try:
            # torch.load does not check the zip's CRCs: a flipped bit in the weights or the
            # optimizer state would be resumed silently
            damaged = zipfile.ZipFile(self.state).testzip()
            if damaged is not None:
                raise ValueError(f"checksum mismatch in {damaged}")
            payload = torch.load(self.state, map_location="cpu", weights_only=True)
        except Exception as err:  # zipfile/torch raise several types for truncated/garbled files
            raise InputError(
                self.state, f"training state unreadable ({brief(err)}); delete it to start over"
            ) from err
        if payload.get("fingerprint") != fingerprint:
            log.warning(
                "%s was written for another configuration or other training data; "
                "starting afresh",
                self.state,
            )
            return None
        return payload

    def restore(
        self, payload: dict[str, Any], model: Any, optimizer: Any, scheduler: Any
    ) -> Progress:
        """Load ``payload`` into the (unwrapped) model, the optimizer and the scheduler (a
        finished record holds no weights: nothing is trained after it)."""
        if payload.get("finished"):
            return Progress(**payload["progress"])
        try:
            model.load_state_dict(payload["model"])
            optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise InputError(
                self.state,
                f"training state does not fit this model ({brief(err)}); "
                f"delete {self.root} to start over",
            ) from err
        scheduler.load_state_dict(payload["scheduler"])
        return Progress(**payload["progress"])

    def checkpoint(self, name: str) -> Path:
        return self.ckpt / name
