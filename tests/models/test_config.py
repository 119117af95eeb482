"""Model configs: bad values are clear errors, a CSMAE needs no experts."""

from __future__ import annotations

import pytest

from csmoe.errors import ConfigError
from csmoe.models import ModelConfig, build_model
from csmoe.models.complexity import count
from csmoe.models.softmoe import SoftMoE

SMALL = {"img_size": 32, "patch_size": 8, "dim": 16, "heads": 2, "decoder_dim": 16}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"router_temperature": 0.0}, "router_temperature must be > 0"),
        ({"router_temperature": -1.0}, "router_temperature must be > 0"),
        ({"contrastive_temperature": 0.0}, "contrastive_temperature must be > 0"),
        ({"contrastive_temperature": float("nan")}, "contrastive_temperature must be > 0"),
        ({"mlp_ratio": 0.0}, "mlp_ratio must be > 0"),
        ({"mlp_ratio": -4.0}, "mlp_ratio must be > 0"),
        ({"mlp_ratio": 0.01}, "no hidden unit"),
        ({"slots_per_expert": -1}, "slots_per_expert must be >= 0"),
        ({"num_experts": -2, "kind": "csmae"}, "num_experts must be >= 0"),
        ({"num_experts": 0}, "csmoe model needs num_experts >= 1"),
    ],
)
def test_bad_values_are_clear_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict({**SMALL, **change})


def test_a_csmae_without_experts_builds_and_counts():
    no_experts = ModelConfig.from_dict({**SMALL, "kind": "csmae", "num_experts": 0})
    assert no_experts.slots == 0
    model = build_model(no_experts, seed=0)
    assert not any(isinstance(m, SoftMoE) for m in model.modules())
    # the expert count does not change a network without Soft MoE layers
    with_experts = no_experts.replace(num_experts=8)
    assert count(no_experts) == count(with_experts)
    same = build_model(with_experts, seed=0).state_dict()
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        k: v.shape for k, v in same.items()
    }
