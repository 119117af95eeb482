from __future__ import annotations

import numpy as np
import pytest

from csmoe.cli import main
from csmoe.report.figures import rgb_stretch


def _examples(path, variant, shape=(2, 8, 8)):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        variant=variant,
        task="m-cashew-plant",
        num_classes=3,
        rgb=rng.random((*shape, 3)) * 3000,
        truth=rng.integers(0, 3, shape),
        prediction=rng.integers(0, 3, shape),
    )
    return str(path)


def test_fig8_one_column_per_variant(tmp_path):
    files = [_examples(tmp_path / f"{v}.npz", v) for v in ("a", "b")]
    out = tmp_path / "fig8.png"
    assert main(["report", "fig8", "--params", "{}", "--examples", *files, "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    # examples of other scenes cannot share a figure
    files.append(_examples(tmp_path / "c.npz", "c", shape=(1, 8, 8)))
    assert main(["report", "fig8", "--params", "{}", "--examples", *files, "--out", str(out)]) == 2


def test_rgb_stretch_range():
    x = np.linspace(0, 1e4, 300).reshape(10, 10, 3)
    y = rgb_stretch(x)
    assert y.min() == 0 and y.max() == 1
    assert y[5, 5, 0] == pytest.approx(
        (x[5, 5, 0] - np.percentile(x, 2)) / np.ptp(np.percentile(x, [2, 98]))
    )
