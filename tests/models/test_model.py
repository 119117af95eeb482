from __future__ import annotations

import pytest
import torch

from csmoe.config import load_config
from csmoe.errors import ConfigError, InputError
from csmoe.models import ModelConfig, build_model
from csmoe.models.inputs import fit_to_model
from csmoe.models.softmoe import SoftMoE

TERMS = {"intra_s1", "intra_s2", "cross_s1", "cross_s2", "contrastive", "repulsion", "entropy"}


@pytest.fixture(scope="module")
def tiny() -> ModelConfig:
    # the real tiny preset of the default config, at a small image so tests stay fast
    return ModelConfig.preset("tiny", load_config()["models"], img_size=32, patch_size=8)


def _pair(cfg: ModelConfig, batch: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    size = (cfg.img_size, cfg.img_size)
    return torch.randn(batch, 2, *size, generator=g), torch.randn(batch, 10, *size, generator=g)


def test_forward_returns_every_term_and_the_weighted_total(tiny):
    torch.manual_seed(0)
    model = build_model(tiny)
    out = model(*_pair(tiny), generator=torch.Generator().manual_seed(0))
    assert set(out.terms) == TERMS | {"loss"}
    assert all(torch.isfinite(v) and v.ndim == 0 for v in out.terms.values())
    w = tiny.loss_weights
    t = out.terms
    expected = (
        w["intra"] * (t["intra_s1"] + t["intra_s2"])
        + w["cross"] * (t["cross_s1"] + t["cross_s2"])
        + w["contrastive"] * t["contrastive"]
        + w["repulsion"] * t["repulsion"]
        + w["entropy"] * t["entropy"]
    )
    assert torch.allclose(out.loss, expected) and out.terms["loss"] is out.loss
    assert t["repulsion"] > 0  # MoE layers are present and report their regulariser
    out.loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


def test_same_seed_same_loss_and_masks_change_with_the_generator(tiny):
    torch.manual_seed(0)
    model = build_model(tiny)
    s1, s2 = _pair(tiny)
    a = model(s1, s2, generator=torch.Generator().manual_seed(5)).loss
    b = model(s1, s2, generator=torch.Generator().manual_seed(5)).loss
    c = model(s1, s2, generator=torch.Generator().manual_seed(6)).loss
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_seeded_build_gives_the_same_weights_and_leaves_the_global_rng_alone(tiny):
    before = torch.random.get_rng_state()
    a, b, c = build_model(tiny, seed=1), build_model(tiny, seed=1), build_model(tiny, seed=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["head.0.weight"], sc["head.0.weight"])


def test_a_few_steps_reduce_the_loss(tiny):
    torch.manual_seed(0)
    model = build_model(tiny)
    s1, s2 = _pair(tiny, batch=4)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(5):
        out = model(s1, s2, generator=torch.Generator().manual_seed(0))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_encode_gives_tokens_cls_projection_and_requested_layers(tiny):
    torch.manual_seed(0)
    model = build_model(tiny).eval()
    s1, s2 = _pair(tiny, batch=2)
    out = model.encode(s2, "s2", layers=(0, -1))
    n = tiny.num_patches
    assert out.tokens.shape == (2, 1 + n, tiny.dim)
    assert torch.equal(out.cls, out.tokens[:, 0])
    assert out.projected_cls.shape == (2, tiny.proj_dim)
    assert [h.shape for h in out.hidden] == [(2, 1 + n, tiny.dim)] * 2
    assert out.grid == tiny.img_size // tiny.patch_size
    maps = out.feature_maps()
    g = out.grid
    assert maps[0].shape == (2, tiny.dim, g, g)
    # map position (row, col) is patch token 1 + row·grid + col
    assert torch.equal(maps[1][:, :, 1, 2], out.hidden[1][:, 1 + g + 2])
    # no masking at inference: deterministic, and each sample independent of the batch
    again = model.encode(s2[:1], "s2")
    assert torch.allclose(again.tokens, out.tokens[:1], atol=1e-5)
    assert model.encode(s1, "s1").tokens.shape == out.tokens.shape


def test_csmae_has_no_moe_and_csmoe_has_it_where_configured(tiny):
    csmae = build_model(tiny.replace(kind="csmae"))
    assert not any(isinstance(m, SoftMoE) for m in csmae.modules())
    out = csmae(*_pair(tiny))
    assert out.terms["repulsion"] == 0 and out.terms["entropy"] == 0
    csmoe = build_model(tiny)
    moe = [m for m in csmoe.modules() if isinstance(m, SoftMoE)]
    # modality MoE layers exist once per sensor, shared ones once
    expected = 2 * len(tiny.moe_modality_layers) + len(tiny.moe_shared_layers)
    assert len(moe) == expected
    assert csmoe.stems["s1"].blocks[0].ffn is not csmoe.stems["s2"].blocks[0].ffn


@pytest.mark.parametrize(
    ("s1_shape", "s2_shape", "message"),
    [
        ((2, 3, 32, 32), (2, 10, 32, 32), "expected 2 bands"),
        ((2, 2, 32, 32), (2, 12, 32, 32), "expected 10 bands"),
        ((2, 2, 30, 30), (2, 10, 30, 30), "not divisible by patch size"),
        ((2, 2, 48, 48), (2, 10, 48, 48), "fit_to_model"),
        ((2, 2, 32, 32), (3, 10, 32, 32), "batch sizes differ"),
    ],
)
def test_bad_batches_fail_before_computing(tiny, s1_shape, s2_shape, message):
    model = build_model(tiny)
    with pytest.raises(InputError, match=message):
        model(torch.randn(*s1_shape), torch.randn(*s2_shape))


def test_bad_configs_are_rejected():
    with pytest.raises(ConfigError, match="not divisible"):
        ModelConfig(img_size=224, patch_size=15)
    with pytest.raises(ConfigError, match="unknown model config keys"):
        ModelConfig.from_dict({"depth": 3})
    with pytest.raises(ConfigError, match="out of range"):
        ModelConfig(modality_layers=2, moe_modality_layers=(2,))
    with pytest.raises(ConfigError, match="no model preset"):
        ModelConfig.preset("huge", {"presets": {}})


def test_fit_to_model_resizes_120_px_patches():
    x = torch.rand(2, 10, 120, 120)
    y = fit_to_model(x, 224)
    assert y.shape == (2, 10, 224, 224)
    assert fit_to_model(y, 224) is y
    # bilinear keeps a constant image constant
    assert torch.allclose(fit_to_model(torch.full((1, 2, 120, 120), 3.0), 224), torch.tensor(3.0))
