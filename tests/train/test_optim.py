"""Weight decay by parameter role (MAE's recipe), listed for the tiny CSMoE."""

from __future__ import annotations

from pretrain_fixtures import TINY_MODEL
from torch import nn

from csmoe.models import ModelConfig, build_model
from csmoe.train.optim import decay_split, param_groups


def test_parameter_groups_of_a_csmoe():
    model = build_model(ModelConfig.from_dict(TINY_MODEL), seed=0)
    decay, no_decay = decay_split(model)
    names = dict(model.named_parameters())
    assert sorted(decay + no_decay) == sorted(names)  # every trainable parameter, once
    # decayed: weight matrices of linear layers, patch embeddings, experts and slot embeddings
    assert {n for n in decay if "ffn" in n and n.startswith("shared.0.")} == {
        "shared.0.ffn.slot_embeds",
        "shared.0.ffn.w1",
        "shared.0.ffn.w2",
    }
    assert all(n.endswith(("weight", "w1", "w2", "slot_embeds")) for n in decay)
    assert "stems.s2.patch_embed.weight" in decay and "head.2.weight" in decay
    # not decayed: biases (the stacked expert biases are 2-D), norms, tokens, router scale
    assert names["shared.0.ffn.b1"].ndim == 2 and "shared.0.ffn.b1" in no_decay
    assert {"shared.0.ffn.b2", "shared.0.ffn.scale", "norm.weight", "norm.bias"} <= set(no_decay)
    assert {"stems.s1.cls_token", "stems.s2.cls_token"} <= set(no_decay)
    assert {"decoders.s1.mask_token", "decoders.s2.mask_token"} <= set(no_decay)
    assert "shared.0.norm1.weight" in no_decay and "decoders.s2.norm.weight" in no_decay
    assert all(n.endswith(("bias", "b1", "b2", "token", "scale", "weight")) for n in no_decay)
    norm_weights = [n for n in no_decay if n.endswith("weight")]
    assert all(
        isinstance(model.get_submodule(n[: -len(".weight")]), nn.LayerNorm) for n in norm_weights
    )
    assert not [n for n in names if "pos" in n]  # position embeddings: fixed buffers
    groups = param_groups(model, 0.05)
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    assert [len(g["params"]) for g in groups] == [len(decay), len(no_decay)]
    assert groups[1]["params"][no_decay.index("shared.0.ffn.b1")] is names["shared.0.ffn.b1"]
