from __future__ import annotations

import numpy as np
import pytest
import torch

from csmoe.errors import InputError
from csmoe.evaluation.features import cached, default_layers, encode, normalise
from csmoe.models import ModelConfig, build_model

TINY = dict(
    img_size=16,
    patch_size=4,
    dim=16,
    heads=2,
    modality_layers=1,
    shared_layers=1,
    decoder_dim=16,
    decoder_layers=1,
    decoder_heads=2,
    proj_dim=8,
    num_experts=2,
    moe_modality_layers=[0],
    moe_shared_layers=[0],
    slots_per_expert=2,
)
STATS = {"s1": {"mean": [0, 0], "std": [1, 1]}, "s2": {"mean": [0] * 10, "std": [1] * 10}}


def test_default_layers():
    assert default_layers(12, 4) == [2, 5, 8, 11]
    assert default_layers(6, 4)[-1] == 5 and len(default_layers(2, 4)) == 4


def test_normalise_checks_bands():
    x = np.ones((2, 3, 4, 4), np.float32)
    stats = {"s2": {"mean": [1, 1, 1], "std": [2, 2, 2]}}
    assert np.allclose(normalise(x, stats, "s2", "ckpt"), 0)
    with pytest.raises(InputError, match="3 bands, the data 2"):
        normalise(x[:, :2], stats, "s2", "ckpt")
    with pytest.raises(InputError, match="no s1 normalisation"):
        normalise(x, stats, "s1", "ckpt")


def test_encode_strategies_and_maps_match_the_model():
    torch.manual_seed(0)
    model = build_model(ModelConfig.from_dict(TINY)).eval()
    images = np.random.default_rng(0).normal(size=(5, 10, 8, 8)).astype(np.float32)
    batches = [{"s2": images[i : i + 2]} for i in range(0, 5, 2)]
    out = encode(
        model, STATS, batches, 5, strategies=["cls", "avg_all", "cls_norm_proj"], layers=[0, 1]
    )["s2"]
    assert out["cls"].shape == (5, 16) and out["cls_norm_proj"].shape == (5, 8)
    assert np.allclose(np.linalg.norm(out["cls_norm_proj"], axis=1), 1, atol=1e-5)
    assert out["maps"].shape == (5, 2, 16, 4, 4) and out["maps"].dtype == np.float16
    with torch.inference_mode():
        x = torch.nn.functional.interpolate(torch.as_tensor(images), size=(16, 16), mode="bilinear")
        ref = model.encode(x, "s2", layers=(1,))
    assert np.allclose(out["cls"], ref.cls.numpy(), atol=1e-5)
    # token 1+r*g+c of the last layer is map position (r, c)
    assert np.allclose(
        out["maps"][:, 1, :, 2, 3], ref.hidden[0][:, 1 + 2 * 4 + 3].numpy(), atol=1e-2
    )


def test_encode_checks_the_announced_count():
    model = build_model(ModelConfig.from_dict(TINY)).eval()
    images = np.zeros((3, 10, 8, 8), np.float32)
    with pytest.raises(InputError, match="3 samples read, 4 announced"):
        encode(model, STATS, [{"s2": images}], 4, strategies=["cls"], where="split")
    with pytest.raises(InputError, match="more than the 2 samples"):
        encode(model, STATS, [{"s2": images}], 2, strategies=["cls"], where="split")
    with pytest.raises(InputError, match="no images"):
        encode(model, STATS, [], 0, strategies=["cls"], where="split")


def test_cache_reuses_and_invalidates(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"cls": np.arange(3.0)}

    path = tmp_path / "cache" / "train.npz"
    a = cached(path, {"ckpt": "x"}, compute)
    b = cached(path, {"ckpt": "x"}, compute)
    assert len(calls) == 1 and np.array_equal(a["cls"], b["cls"])
    cached(path, {"ckpt": "y"}, compute)
    assert len(calls) == 2
    path.write_bytes(b"garbage")
    cached(path, {"ckpt": "y"}, compute)
    assert len(calls) == 3


def test_a_non_finite_feature_is_an_error_not_a_chance_score():
    torch.manual_seed(0)
    model = build_model(ModelConfig.from_dict(TINY)).eval()
    images = np.random.default_rng(0).normal(size=(4, 10, 8, 8)).astype(np.float32)
    images[3, 2, 1, 1] = np.nan  # one bad pixel in the second batch
    batches = [{"s2": images[:2]}, {"s2": images[2:]}]
    with pytest.raises(InputError, match=r"m-eurosat/test: non-finite s2 features.*samples 2-3"):
        encode(model, STATS, batches, 4, strategies=["cls"], where="m-eurosat/test")
