"""Model sizes: one frozen dataclass, built from the config's ``models`` section.

Kept free of torch so that the CLI and Snakemake can read presets cheaply. The dataclass
defaults are the paper's CSMoE (section III); the presets in config override them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from csmoe.errors import ConfigError

KINDS = ("csmoe", "csmae")
MODALITIES = ("s1", "s2")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes a model's shape and its pretraining losses.

    ``kind='csmae'`` is the same network with dense MLPs everywhere (no Soft MoE).
    Layer indices in ``moe_modality_layers`` / ``moe_shared_layers`` count from 0 inside the
    modality-specific and the shared encoder; negative indices count from the end.
    """

    kind: str = "csmoe"
    img_size: int = 224
    patch_size: int = 16
    s1_bands: int = 2  # VV, VH
    s2_bands: int = 10  # B02 B03 B04 B08 B05 B06 B07 B8A B11 B12
    dim: int = 768
    heads: int = 12
    mlp_ratio: float = 4.0
    modality_layers: int = 4
    shared_layers: int = 2
    decoder_dim: int = 256
    decoder_layers: int = 4
    decoder_heads: int = 8
    proj_dim: int = 256  # contrastive projection head output
    num_experts: int = 8
    # which encoder layers carry a Soft MoE instead of the dense MLP (fitted to Table IV)
    moe_modality_layers: tuple[int, ...] = (1, 3)
    moe_shared_layers: tuple[int, ...] = (0, 1)
    # slots per expert; 0 = as many slots in total as the full image has patches
    slots_per_expert: int = 0
    router_temperature: float = 1.0
    mask_ratio: float = 0.5
    contrastive_temperature: float = 0.5
    norm_pix_loss: bool = False
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {
            "intra": 1.0,
            "cross": 1.0,
            "contrastive": 1.0,
            "repulsion": 0.01,
            "entropy": 0.01,
        }
    )

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"model kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("img_size", "patch_size", "dim", "heads", "decoder_dim", "decoder_heads"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"model {name} must be positive, got {getattr(self, name)}")
        if self.img_size % self.patch_size:
            raise ConfigError(
                f"image size {self.img_size} is not divisible by patch size {self.patch_size}"
            )
        if self.dim % self.heads or self.decoder_dim % self.decoder_heads:
            raise ConfigError("model widths must be divisible by their head counts")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask_ratio must be in (0, 1), got {self.mask_ratio}")
        # a temperature <= 0 turns the routing / contrastive softmax into NaN or inf losses
        for name in ("router_temperature", "contrastive_temperature", "mlp_ratio"):
            if not getattr(self, name) > 0:  # also refuses NaN
                raise ConfigError(f"model {name} must be > 0, got {getattr(self, name)}")
        if int(self.dim * self.mlp_ratio) < 1:
            raise ConfigError(f"model mlp_ratio {self.mlp_ratio} leaves the MLP no hidden unit")
        for name in ("num_experts", "slots_per_expert"):
            if getattr(self, name) < 0:
                raise ConfigError(f"model {name} must be >= 0, got {getattr(self, name)}")
        if self.kind == "csmoe" and self.num_experts < 1:
            raise ConfigError("a csmoe model needs num_experts >= 1")
        for name, depth in (
            ("moe_modality_layers", self.modality_layers),
            ("moe_shared_layers", self.shared_layers),
        ):
            bad = [i for i in getattr(self, name) if not -depth <= i < depth]
            if bad:
                raise ConfigError(f"{name} {bad} out of range for {depth} layers")
        unknown = set(self.loss_weights) - {"intra", "cross", "contrastive", "repulsion", "entropy"}
        if unknown:
            raise ConfigError(f"unknown loss weights {sorted(unknown)}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Build from a plain dict (config preset, checkpoint metadata); unknown keys fail."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown model config keys {sorted(unknown)}")
        kwargs = dict(d)
        for key in ("moe_modality_layers", "moe_shared_layers"):
            if key in kwargs:
                kwargs[key] = tuple(int(i) for i in kwargs[key])
        if "loss_weights" in kwargs:
            kwargs["loss_weights"] = {**cls().loss_weights, **kwargs["loss_weights"]}
        return cls(**kwargs)

    @classmethod
    def preset(cls, name: str, models_section: dict[str, Any], **overrides: Any) -> ModelConfig:
        """The preset ``name`` of ``config['models']['presets']``, with ``overrides`` on top
        (e.g. ``kind='csmae'``, ``patch_size=32`` from a variant)."""
        presets = models_section.get("presets", {})
        if name not in presets:
            raise ConfigError(f"no model preset {name!r} (have {sorted(presets)})")
        return cls.from_dict({**presets[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("moe_modality_layers", "moe_shared_layers"):
            d[key] = list(d[key])
        return d

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def bands(self, modality: str) -> int:
        if modality not in MODALITIES:
            raise ConfigError(f"modality must be one of {MODALITIES}, got {modality!r}")
        return self.s1_bands if modality == "s1" else self.s2_bands

    @property
    def grid(self) -> int:
        return self.img_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid**2

    @property
    def slots(self) -> int:
        """Slots per expert actually used (see ``slots_per_expert``); 0 without experts (a
        CSMAE may leave ``num_experts`` at 0: it has no Soft MoE layer to give slots to)."""
        if self.num_experts == 0:
            return 0
        if self.slots_per_expert > 0:
            return self.slots_per_expert
        return max(1, math.ceil(self.num_patches / self.num_experts))

    def is_moe(self, stage: str, index: int) -> bool:
        """Does layer ``index`` of ``stage`` ('modality' or 'shared') carry a Soft MoE?"""
        if self.kind != "csmoe":
            return False
        depth = self.modality_layers if stage == "modality" else self.shared_layers
        chosen = self.moe_modality_layers if stage == "modality" else self.moe_shared_layers
        return index in {i % depth for i in chosen}
