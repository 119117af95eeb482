from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from csmoe.models.softmoe import SoftMoE, slot_repulsion, usage_entropy_gap

DIM, HIDDEN, EXPERTS, SLOTS = 12, 20, 3, 2


@pytest.fixture
def layer() -> SoftMoE:
    torch.manual_seed(0)
    moe = SoftMoE(DIM, HIDDEN, EXPERTS, SLOTS, temperature=0.7)
    with torch.no_grad():
        moe.scale.fill_(3.0)  # sharper routing than at init, so that errors would show
        moe.b1.normal_()
        moe.b2.normal_()
    return moe


def test_dispatch_columns_and_combine_rows_sum_to_one(layer):
    dispatch, combine = layer.routing(torch.randn(2, 7, DIM))
    # each slot is a convex combination of the tokens
    assert torch.allclose(dispatch.sum(dim=1), torch.ones(2, EXPERTS, SLOTS), atol=1e-6)
    # each token is a convex combination of all slots
    assert torch.allclose(combine.sum(dim=(2, 3)), torch.ones(2, 7), atol=1e-6)
    assert (dispatch > 0).all() and (combine > 0).all()


def test_permuting_tokens_permutes_outputs(layer):
    x = torch.randn(2, 9, DIM)
    perm = torch.randperm(9)
    y = layer(x)
    y_perm = layer(x[:, perm])
    assert torch.allclose(y_perm, y[:, perm], atol=1e-5)


@pytest.mark.parametrize("tokens", [1, 5, 64])
def test_experts_see_exactly_the_slots_whatever_the_token_count(layer, tokens):
    seen = []
    original = layer.experts

    def spy(slots):
        seen.append(slots.shape)
        return original(slots)

    layer.experts = spy
    y = layer(torch.randn(3, tokens, DIM))
    assert seen == [torch.Size([3, EXPERTS, SLOTS, DIM])]
    assert y.shape == (3, tokens, DIM)


def test_gradients_reach_every_expert(layer):
    routing = []
    y = layer(torch.randn(2, 6, DIM), routing)
    (y.pow(2).sum() + routing[0].repulsion + routing[0].entropy).backward()
    for name in ("w1", "b1", "w2", "b2"):
        grad = getattr(layer, name).grad
        per_expert = grad.reshape(EXPERTS, -1).abs().sum(dim=1)
        assert (per_expert > 0).all(), name
    assert layer.slot_embeds.grad.abs().sum() > 0 and layer.scale.grad != 0


def test_batched_experts_equal_a_loop_over_experts(layer):
    slots = torch.randn(2, EXPERTS, SLOTS, DIM)
    looped = torch.stack(
        [
            F.gelu(slots[:, e] @ layer.w1[e] + layer.b1[e]) @ layer.w2[e] + layer.b2[e]
            for e in range(EXPERTS)
        ],
        dim=1,
    )
    assert torch.allclose(layer.experts(slots), looped, atol=1e-5)


def test_output_equals_the_equations_written_out(layer):
    """Eq. 12-13 for one sample at a time with plain matrices: X (n×d), Φ (d×e·s)."""
    x = torch.randn(2, 5, DIM)
    y = layer(x)
    phi = layer.slot_embeds.reshape(EXPERTS * SLOTS, DIM).T  # d × (e·s), expert-major columns
    for b in range(2):
        xb = x[b]
        logits = (
            (xb / xb.norm(dim=1, keepdim=True))
            @ (phi / phi.norm(dim=0, keepdim=True))
            * layer.scale
            / layer.temperature
        )
        dispatch = torch.exp(logits) / torch.exp(logits).sum(dim=0, keepdim=True)  # over tokens
        combine = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)  # over slots
        slots_in = dispatch.T @ xb  # (e·s) × d
        slots_out = torch.cat(
            [
                F.gelu(slots_in[e * SLOTS : (e + 1) * SLOTS] @ layer.w1[e] + layer.b1[e])
                @ layer.w2[e]
                + layer.b2[e]
                for e in range(EXPERTS)
            ]
        )
        assert torch.allclose(y[b], combine @ slots_out, atol=1e-5)


def test_temperature_sharpens_routing():
    torch.manual_seed(1)
    hot = SoftMoE(DIM, HIDDEN, EXPERTS, SLOTS, temperature=10.0)
    cold = SoftMoE(DIM, HIDDEN, EXPERTS, SLOTS, temperature=0.05)
    cold.load_state_dict(hot.state_dict())
    x = torch.randn(1, 8, DIM)
    assert cold.routing(x)[0].max() > hot.routing(x)[0].max()


def test_slot_repulsion_is_zero_for_orthogonal_and_one_for_collapsed_slots():
    orthogonal = torch.eye(4).reshape(1, 2, 2, 4)
    assert slot_repulsion(orthogonal).item() == pytest.approx(0.0, abs=1e-7)
    collapsed = torch.ones(1, 2, 2, 4)
    assert slot_repulsion(collapsed).item() == pytest.approx(1.0, abs=1e-6)


def test_usage_entropy_gap_is_zero_when_balanced_and_log_e_when_one_expert_wins():
    balanced = torch.full((2, 5, 4, 3), 1 / 12)
    assert usage_entropy_gap(balanced).item() == pytest.approx(0.0, abs=1e-6)
    winner = torch.zeros(2, 5, 4, 3)
    winner[:, :, 0, :] = 1 / 3
    assert usage_entropy_gap(winner).item() == pytest.approx(math.log(4), abs=1e-5)
