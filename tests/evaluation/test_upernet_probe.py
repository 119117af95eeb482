from __future__ import annotations

import numpy as np

from csmoe.evaluation.upernet_probe import UPerNetConfig, probe


def test_upernet_probe_segments_a_learnable_pattern():
    """Class of a pixel = sign of the first feature channel of its patch: learnable."""
    rng = np.random.default_rng(0)
    cfg = UPerNetConfig(
        scales=[2, 1], channels=16, pool_bins=[1, 2], epochs=15, batch_size=8, lr=5e-3
    )
    maps, masks = {}, {}
    for split, n in (("train", 48), ("valid", 8), ("test", 16)):
        m = rng.normal(size=(n, 2, 6, 4, 4)).astype(np.float16)
        m[:, 1] = m[:, 0]
        cls = (m[:, 0, 0] > 0).astype(np.int64)  # [n, 4, 4]
        maps[split], masks[split] = m, np.kron(cls, np.ones((4, 4), np.int64))
    out, examples = probe(
        maps, masks, 2, cfg, seed=0, absent_policy="keep", where="t", n_examples=3
    )
    assert out["test"] > 75
    assert examples.shape == (3, 16, 16)
    assert out["test_pixels"] == 16 * 16 * 16
