from __future__ import annotations

import numpy as np
import pytest

from csmoe.evaluation.metrics import confusion_miou
from csmoe.evaluation.upernet_probe import UPerNetConfig, probe


def _pattern(rng):
    """Class of a pixel = sign of the first feature channel of its patch: learnable."""
    maps, masks = {}, {}
    for split, n in (("train", 48), ("valid", 8), ("test", 16)):
        m = rng.normal(size=(n, 2, 6, 4, 4)).astype(np.float16)
        m[:, 1] = m[:, 0]
        cls = (m[:, 0, 0] > 0).astype(np.int64)  # [n, 4, 4]
        maps[split], masks[split] = m, np.kron(cls, np.ones((4, 4), np.int64))
    masks["train"][:, 0, 0] = 255  # a no-data code: ignored by the loss and the metric
    return maps, masks


def test_upernet_probe_segments_a_learnable_pattern():
    cfg = UPerNetConfig(
        scales=[2, 1], channels=16, pool_bins=[1, 2], epochs=15, batch_size=8, lr=5e-3
    )
    maps, masks = _pattern(np.random.default_rng(0))
    out, _, examples = probe(
        maps, masks, 2, cfg, seeds=[0], absent_policy="keep", where="t", n_examples=3
    )
    assert out["test_seeds"][0] > 75
    assert examples.shape == (3, 16, 16)
    assert out["test_pixels"] == 16 * 16 * 16


def test_one_head_per_seed_and_per_scene_confusion_for_the_bootstrap():
    cfg = UPerNetConfig(scales=[2, 1], channels=8, pool_bins=[1], epochs=1, batch_size=8)
    maps, masks = _pattern(np.random.default_rng(1))
    out, samples, _ = probe(maps, masks, 2, cfg, seeds=[0, 1], absent_policy="keep", where="t")
    assert len(out["test_seeds"]) == len(out["valid_seeds"]) == 2
    assert out["test_seeds"][0] != out["test_seeds"][1]  # two different heads
    per_scene = samples["confusion"]
    assert per_scene.shape == (2, 16, 2, 2) and per_scene[0].sum() == 16 * 16 * 16
    # the scenes' confusion matrices add up to each seed's test score
    assert confusion_miou(per_scene.sum(1), [0, 1]) == pytest.approx(out["test_seeds"])
