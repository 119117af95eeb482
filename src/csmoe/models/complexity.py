"""Parameters and FLOPs, counted analytically from a :class:`ModelConfig` (Tables I and IV).

FLOPs follow the fvcore convention of the field: one multiply-accumulate (MAC) = one "FLOP";
only matrix products and convolutions count (norms, activations, softmax and additions are
left out, as in ``torch.utils.flop_counter``). What the paper's counts include was lost; the
:class:`Scope` defaults are the reading fitted to Table IV (docs/models.md):

- parameters: the encoder as it is kept after pretraining — both sensors' patch embeddings,
  [CLS] tokens and modality-specific blocks, the shared blocks and the final norm (no
  decoders, no projection head);
- FLOPs: one image of one sensor (``modality``) at the full token count (no masking) through
  its encoder, plus, with ``decoder``, one pass of that sensor's decoder over all tokens.

:func:`measure_flops` counts the same forward on the real module with
``torch.utils.flop_counter`` so that the analytic formulas are checked against the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from csmoe.errors import ConfigError
from csmoe.models.config import ModelConfig


@dataclass(frozen=True)
class Scope:
    """What a count includes (see module docstring)."""

    modality: str = "s2"
    decoder: bool = True

    def describe(self) -> str:
        parts = "encoder + decoder" if self.decoder else "encoder"
        return f"params: encoder (S1+S2 stems, shared); MACs: one {self.modality} image, {parts}"


def counted_model(models: dict[str, Any], name: str, **overrides: Any) -> tuple[ModelConfig, Scope]:
    """The model ``name`` of ``config['models']['complexity']`` (its preset with ``overrides``)
    and the scope its published count uses."""
    specs = models.get("complexity", {})
    if name not in specs:
        raise ConfigError(f"models.complexity has no model {name!r} (have {sorted(specs)})")
    spec = specs[name]
    cfg = ModelConfig.preset(spec["preset"], models, **overrides)
    return cfg, Scope(spec.get("modality", "s2"), spec.get("decoder", True))


# ---------------------------------------------------------------- parameters


def _block_params(dim: int, mlp_ratio: float, moe: bool, experts: int, slots: int) -> int:
    hidden = int(dim * mlp_ratio)
    attn = 3 * dim * dim + 3 * dim + dim * dim + dim
    norms = 2 * 2 * dim
    mlp = 2 * dim * hidden + hidden + dim
    if not moe:
        return attn + norms + mlp
    return attn + norms + experts * mlp + experts * slots * dim + 1  # + slot embeds + scale


def encoder_params(cfg: ModelConfig) -> int:
    """Parameters of both sensors' stems, the shared blocks and the final norm."""
    total = 2 * cfg.dim  # final norm
    for modality in ("s1", "s2"):
        total += cfg.patch_size**2 * cfg.bands(modality) * cfg.dim + cfg.dim  # patch embed
        total += cfg.dim  # [CLS]
        total += sum(
            _block_params(
                cfg.dim, cfg.mlp_ratio, cfg.is_moe("modality", i), cfg.num_experts, cfg.slots
            )
            for i in range(cfg.modality_layers)
        )
    total += sum(
        _block_params(cfg.dim, cfg.mlp_ratio, cfg.is_moe("shared", i), cfg.num_experts, cfg.slots)
        for i in range(cfg.shared_layers)
    )
    return total


# ---------------------------------------------------------------- FLOPs (MACs)


def block_macs(
    tokens: int, dim: int, mlp_ratio: float, moe: bool, experts: int = 0, slots: int = 0
) -> int:
    """MACs of one pre-norm block over ``tokens`` tokens (dense MLP, or Soft MoE with
    ``experts`` × ``slots`` slots: routing logits, dispatch and combine cost tokens·slots·dim
    each, the experts see only the slots)."""
    hidden = int(dim * mlp_ratio)
    attn = tokens * 4 * dim * dim + 2 * tokens * tokens * dim  # qkv + proj, QKᵀ + AV
    if not moe:
        return attn + tokens * 2 * dim * hidden
    k = experts * slots
    routing = 3 * tokens * k * dim  # logits, slot inputs (dispatch), outputs (combine)
    return attn + routing + k * 2 * dim * hidden


def encoder_macs(cfg: ModelConfig, modality: str) -> int:
    """One image of ``modality``, all patches + [CLS], through stem, shared blocks."""
    tokens = cfg.num_patches + 1
    total = cfg.num_patches * cfg.patch_size**2 * cfg.bands(modality) * cfg.dim
    for stage, depth in (("modality", cfg.modality_layers), ("shared", cfg.shared_layers)):
        total += sum(
            block_macs(
                tokens, cfg.dim, cfg.mlp_ratio, cfg.is_moe(stage, i), cfg.num_experts, cfg.slots
            )
            for i in range(depth)
        )
    return total


def decoder_macs(cfg: ModelConfig, modality: str) -> int:
    """One pass of ``modality``'s decoder over all tokens (prediction head included)."""
    tokens = cfg.num_patches + 1
    total = tokens * cfg.dim * cfg.decoder_dim
    total += cfg.decoder_layers * block_macs(tokens, cfg.decoder_dim, cfg.mlp_ratio, False)
    return total + tokens * cfg.decoder_dim * cfg.patch_size**2 * cfg.bands(modality)


def count(cfg: ModelConfig, scope: Scope | None = None) -> dict[str, float]:
    """``params_m`` (millions), ``gflops`` (GMACs per image) and ``c2c`` = params_m / gflops."""
    scope = scope or Scope()
    macs = encoder_macs(cfg, scope.modality)
    if scope.decoder:
        macs += decoder_macs(cfg, scope.modality)
    params_m = encoder_params(cfg) / 1e6
    gflops = macs / 1e9
    return {"params_m": params_m, "gflops": gflops, "c2c": params_m / gflops}


# ---------------------------------------------------------------- checks on the real module


def measured_encoder_params(model: Any) -> int:
    """Parameters of the module parts :func:`encoder_params` counts."""
    parts = [*model.stems.values(), *model.shared, model.norm]
    return sum(p.numel() for part in parts for p in part.parameters())


def counted_forward(model: Any, x: Any, scope: Scope) -> Any:
    """The forward that :func:`count` accounts for: ``x`` (one sensor, no masking) through its
    encoder and, with ``scope.decoder``, its decoder. Returns the last output."""
    import torch

    latent, _ = model.encode_tokens(model.embed(x, scope.modality), scope.modality)
    if not scope.decoder:
        return latent
    n = model.cfg.num_patches
    identity = torch.arange(n, device=x.device).expand(x.shape[0], n)  # no masking
    return model.decoders[scope.modality](latent, identity)


def measure_flops(model: Any, scope: Scope | None = None) -> int:
    """MACs of :func:`counted_forward` for one image, by ``torch.utils.flop_counter``.

    The counter reports 2 FLOPs per multiply-add, so the total is halved. The math SDPA kernel
    is forced: the fused CPU kernels are invisible to the counter. A model built on the meta
    device (``with torch.device("meta")``) is counted without allocating or computing.
    """
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    scope = scope or Scope()
    cfg = model.cfg
    x = torch.zeros(
        1, cfg.bands(scope.modality), cfg.img_size, cfg.img_size, device=model.pos.device
    )
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        counted_forward(model, x, scope)
    return counter.get_total_flops() // 2
