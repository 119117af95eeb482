"""Fixtures of the evaluation tests: GEO-Bench-format tasks and a tiny-model checkpoint."""

from __future__ import annotations

import pytest
from scene_fixtures import TINY_MODEL, norm_stats, scenes, write_task


@pytest.fixture
def tiny_model() -> dict:
    return dict(TINY_MODEL)


@pytest.fixture(scope="session")
def geobench_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("geobench")
    for task in ("m-eurosat", "m-bigearthnet", "m-SA-crop-type"):
        write_task(root, task)
    return root


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory):
    """A randomly initialised tiny CSMoE saved as a pretraining checkpoint would be."""
    import torch

    from csmoe.models import ModelConfig, build_model
    from csmoe.models.checkpoint import save

    torch.manual_seed(0)
    cfg = ModelConfig.from_dict(TINY_MODEL)
    path = tmp_path_factory.mktemp("ckpt") / "final.safetensors"
    extra = {"epoch": 0, "train_set": "mtom_mu"}
    save(path, build_model(cfg), cfg, norm_stats(scenes(16, 99)), extra)
    return path
