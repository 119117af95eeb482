"""The jobs the fault suite damages inputs of: pretraining on a small store (the pretraining
tests' fixtures, reused rather than copied) and evaluation of its checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# the pretraining tests' store and model fixtures, reused rather than copied
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))

from pretrain_fixtures import TINY_MODEL, make_store, schema_settings  # noqa: F401


def bundle(state_dir: Path, variant: str = "tiny", **settings) -> dict:
    """The variant bundle a pretraining rule passes, for a tiny model and a short run."""
    pretrain = {
        "epochs": 2,
        "ckpt_every": 1,
        "batch_size": 4,
        "micro_batch_size": 4,
        "state_dir": str(state_dir),
        **settings,
    }
    return {
        "seed": 0,
        "variant": variant,
        "spec": {"model": "csmoe", "train_set": "mtom_mu"},
        "models": {"preset": "t", "presets": {"t": TINY_MODEL}},
        "pretrain": schema_settings(**pretrain),
    }


def pretrain_args(
    store: Path, stats: Path, out: Path, state: Path, variant: str = "tiny", **settings
) -> list[str]:
    return [
        "pretrain",
        "run",
        "--variant",
        variant,
        "--params",
        json.dumps(bundle(state, variant, **settings)),
        f"--store={store}",
        f"--stats={stats}",
        f"--out={out}",
        f"--state={state}",
        "--cpu",
    ]
