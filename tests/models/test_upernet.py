from __future__ import annotations

import pytest
import torch

from csmoe.models.upernet import UPerNetHead


def _hidden(b=2, g=4, d=8, layers=4):
    return [torch.randn(b, 1 + g * g, d, requires_grad=True) for _ in range(layers)]


def test_output_is_finest_scale_and_gradients_reach_inputs():
    head = UPerNetHead(8, 5, scales=(4, 2, 1, 0.5), channels=16)
    hidden = _hidden()
    out = head(hidden)
    assert out.shape == (2, 5, 16, 16)
    out.sum().backward()
    assert all(h.grad is not None and h.grad.abs().sum() > 0 for h in hidden)


def test_maps_and_tokens_give_the_same_result():
    torch.manual_seed(0)
    head = UPerNetHead(8, 3, scales=(2, 1), channels=8).eval()
    hidden = _hidden(layers=2)
    maps = [UPerNetHead.token_map(h) for h in hidden]
    assert torch.allclose(head(hidden), head(maps))
    # the [CLS] token is not part of the map: changing it changes nothing
    hidden2 = [h.detach().clone() for h in hidden]
    for h in hidden2:
        h[:, 0] += 5
    assert torch.allclose(head(hidden), head(hidden2))


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="power of two"):
        UPerNetHead(8, 3, scales=(3, 1))
    with pytest.raises(ValueError, match="fine to coarse"):
        UPerNetHead(8, 3, scales=(1, 2))
    head = UPerNetHead(8, 3, scales=(2, 1))
    with pytest.raises(ValueError, match="expects 2 layers"):
        head(_hidden(layers=3))
    with pytest.raises(ValueError, match="square grid"):
        head([torch.randn(1, 1 + 6, 8)] * 2)
