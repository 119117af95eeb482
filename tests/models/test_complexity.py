from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from csmoe.config import load_config
from csmoe.errors import ConfigError
from csmoe.models import ModelConfig, build_model
from csmoe.models.blocks import make_block
from csmoe.models.complexity import (
    Scope,
    block_macs,
    count,
    counted_model,
    measure_flops,
    measured_encoder_params,
)

PAPER_TABLE_IV = {32: (277, 2.92), 28: (275, 3.67), 16: (271, 10.11), 14: (271, 13.40)}


def _counter_macs(fn) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        fn()
    return counter.get_total_flops() // 2


def test_plain_vit_block_matches_a_hand_count():
    # 17 tokens, width 64, 4 heads, MLP 256 — every matrix product written out by hand:
    hand = (
        17 * 64 * 192  # qkv projection
        + 17 * 17 * 64  # Q Kᵀ (all heads together: heads × 17 × 17 × 16)
        + 17 * 17 * 64  # attention × V
        + 17 * 64 * 64  # output projection
        + 17 * 64 * 256  # fc1
        + 17 * 256 * 64  # fc2
    )
    assert hand == 872_576
    assert block_macs(17, 64, 4.0, moe=False) == hand
    block = make_block(64, 4, 4.0, moe=False)
    assert _counter_macs(lambda: block(torch.zeros(1, 17, 64))) == hand


def test_vit_b16_at_224_px_is_the_fields_17_6_gflops():
    # 12 ViT-B blocks over 197 tokens + the RGB patch embedding: fvcore's well-known 17.6 G
    macs = 12 * block_macs(197, 768, 4.0, moe=False) + 196 * 16 * 16 * 3 * 768
    assert macs / 1e9 == pytest.approx(17.56, abs=0.01)


def test_soft_moe_block_matches_the_counter():
    block = make_block(32, 2, 4.0, moe=True, experts=3, slots=5)
    macs = _counter_macs(lambda: block(torch.zeros(1, 11, 32)))
    assert macs == block_macs(11, 32, 4.0, moe=True, experts=3, slots=5)


@pytest.mark.parametrize("kind", ["csmoe", "csmae"])
@pytest.mark.parametrize("scope", [Scope("s1", False), Scope("s2", True)])
def test_analytic_count_equals_the_flop_counter_on_the_real_module(kind, scope):
    cfg = ModelConfig(
        kind=kind,
        img_size=56,
        patch_size=14,
        dim=32,
        heads=2,
        modality_layers=2,
        shared_layers=1,
        decoder_dim=16,
        decoder_heads=2,
        decoder_layers=2,
        num_experts=3,
        moe_modality_layers=(1,),
        moe_shared_layers=(0,),
        proj_dim=8,
    )
    model = build_model(cfg)
    ours = count(cfg, scope)
    assert measure_flops(model, scope) == round(ours["gflops"] * 1e9)
    assert measured_encoder_params(model) == round(ours["params_m"] * 1e6)
    assert ours["c2c"] == pytest.approx(ours["params_m"] / ours["gflops"])


@pytest.fixture(scope="module")
def paper_models() -> dict:
    return load_config("config/paper.yaml")["models"]


@pytest.mark.parametrize("patch", sorted(PAPER_TABLE_IV))
def test_paper_preset_reproduces_table_iv(paper_models, patch):
    cfg, scope = counted_model(paper_models, "csmoe", patch_size=patch)
    ours = count(cfg, scope)
    params, gflops = PAPER_TABLE_IV[patch]
    assert ours["params_m"] == pytest.approx(params, rel=0.02)
    assert ours["gflops"] == pytest.approx(gflops, rel=0.05)


def test_csmae_count_reproduces_table_i(paper_models):
    ours = count(*counted_model(paper_models, "csmae"))
    assert ours["params_m"] == pytest.approx(87, rel=0.02)
    assert ours["gflops"] == pytest.approx(5.64, rel=0.05)


def test_paper_size_module_is_counted_on_the_meta_device(paper_models):
    cfg, scope = counted_model(paper_models, "csmoe", patch_size=32)
    with torch.device("meta"):
        model = build_model(cfg)
    assert measure_flops(model, scope) == round(count(cfg, scope)["gflops"] * 1e9)


def test_unknown_count_entry_is_a_config_error(paper_models):
    with pytest.raises(ConfigError, match="no model 'vit'"):
        counted_model(paper_models, "vit")
