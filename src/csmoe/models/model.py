"""CSMoE and CSMAE (paper section II): cross-sensor masked autoencoders.

Per sensor: patch embedding + [CLS] + ``modality_layers`` modality-specific blocks (their own
Soft MoE experts in CSMoE). Then ``shared_layers`` blocks with weights (and experts) shared by
both sensors, a final norm and a contrastive projection head. Two decoders (one per target
sensor, dense blocks only) reconstruct their sensor from either sensor's latent tokens:
intra-modal (Eq. 4) and cross-modal (Eq. 7-9) reconstruction, each scored on the patches the
*source* latent did not see. CSMAE is the same network with dense MLPs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from csmoe.models.blocks import Block, make_block, sincos_pos_embed
from csmoe.models.config import MODALITIES, ModelConfig
from csmoe.models.inputs import check_images, check_pair
from csmoe.models.losses import masked_mse, nt_xent
from csmoe.models.mae import Masking, gather_tokens, patchify, random_masking
from csmoe.models.softmoe import RoutingLosses


@dataclass
class ModelOutput:
    """``loss``: weighted total; ``terms``: every term unweighted, plus ``loss``."""

    loss: Tensor
    terms: dict[str, Tensor]


@dataclass
class EncoderOutput:
    """Features of one modality without masking (downstream use).

    ``tokens`` ``[B, 1+N, D]`` after the shared encoder and final norm ([CLS] first); ``cls``
    ``[B, D]``; ``projected_cls`` ``[B, P]`` (projection head, before L2 normalisation);
    ``hidden`` block outputs ``[B, 1+N, D]`` for the requested layer indices (0 .. L-1 over
    modality then shared layers); ``grid`` patches per side.
    """

    tokens: Tensor
    cls: Tensor
    projected_cls: Tensor
    hidden: list[Tensor] = field(default_factory=list)
    grid: int = 0

    def feature_maps(self) -> list[Tensor]:
        """``hidden`` as ``[B, D, grid, grid]`` maps ([CLS] dropped), e.g. for UPerNet."""
        return [
            h[:, 1:].transpose(1, 2).reshape(h.shape[0], h.shape[2], self.grid, self.grid)
            for h in self.hidden
        ]


class ModalityStem(nn.Module):
    """Patch embedding, [CLS] token and the modality-specific encoder blocks of one sensor."""

    def __init__(self, cfg: ModelConfig, bands: int) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(bands, cfg.dim, cfg.patch_size, stride=cfg.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        nn.init.normal_(self.cls_token, std=0.02)
        self.blocks = nn.ModuleList(
            _block(cfg, cfg.is_moe("modality", i)) for i in range(cfg.modality_layers)
        )


class Decoder(nn.Module):
    """Dense transformer decoder that reconstructs one sensor's patches from latent tokens."""

    def __init__(self, cfg: ModelConfig, bands: int) -> None:
        super().__init__()
        self.embed = nn.Linear(cfg.dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer(
            "pos", sincos_pos_embed(cfg.decoder_dim, cfg.grid)[None], persistent=False
        )
        self.blocks = nn.ModuleList(
            make_block(cfg.decoder_dim, cfg.decoder_heads, cfg.mlp_ratio, moe=False)
            for _ in range(cfg.decoder_layers)
        )
        self.norm = nn.LayerNorm(cfg.decoder_dim)
        self.pred = nn.Linear(cfg.decoder_dim, cfg.patch_size**2 * bands)

    def forward(self, latent: Tensor, restore: Tensor) -> Tensor:
        """``latent`` [B, 1+K, D] ([CLS] + visible), ``restore`` [B, N] -> [B, N, p·p·C]."""
        x = self.embed(latent)
        b, n = restore.shape
        fill = self.mask_token.expand(b, n + 1 - x.shape[1], -1)
        body = gather_tokens(torch.cat([x[:, 1:], fill], dim=1), restore)  # back to grid order
        x = torch.cat([x[:, :1], body], dim=1) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.pred(self.norm(x))[:, 1:]


def _mae_init(module: nn.Module) -> None:
    """MAE's initialisation: Xavier-uniform linear and patch-embedding weights, zero biases
    (Soft MoE experts initialise themselves the same way)."""
    if isinstance(module, nn.Linear | nn.Conv2d):
        nn.init.xavier_uniform_(module.weight.view(module.weight.shape[0], -1))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _block(cfg: ModelConfig, moe: bool) -> Block:
    return make_block(
        cfg.dim, cfg.heads, cfg.mlp_ratio, moe, cfg.num_experts, cfg.slots, cfg.router_temperature
    )


class CrossSensorMAE(nn.Module):
    """CSMoE (``cfg.kind='csmoe'``) or CSMAE (``'csmae'``)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.stems = nn.ModuleDict({m: ModalityStem(cfg, cfg.bands(m)) for m in MODALITIES})
        self.shared = nn.ModuleList(
            _block(cfg, cfg.is_moe("shared", i)) for i in range(cfg.shared_layers)
        )
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Sequential(
            nn.Linear(cfg.dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.proj_dim)
        )
        self.decoders = nn.ModuleDict({m: Decoder(cfg, cfg.bands(m)) for m in MODALITIES})
        self.register_buffer("pos", sincos_pos_embed(cfg.dim, cfg.grid)[None], persistent=False)
        self.apply(_mae_init)

    @property
    def depth(self) -> int:
        return self.cfg.modality_layers + self.cfg.shared_layers

    def embed(self, x: Tensor, modality: str) -> Tensor:
        """Patch tokens with position embeddings, ``[B, N, D]`` (no [CLS])."""
        tokens = self.stems[modality].patch_embed(x).flatten(2).transpose(1, 2)
        return tokens + self.pos[:, 1:]

    def encode_tokens(
        self,
        tokens: Tensor,
        modality: str,
        layers: tuple[int, ...] = (),
        routing: list[RoutingLosses] | None = None,
    ) -> tuple[Tensor, list[Tensor]]:
        """Run [CLS] + ``tokens`` through the modality and shared blocks and the final norm;
        Soft MoE layers append their regularisers to ``routing`` when it is given."""
        stem = self.stems[modality]
        cls = stem.cls_token.expand(tokens.shape[0], -1, -1) + self.pos[:, :1]
        x = torch.cat([cls, tokens], dim=1)
        wanted = {i % self.depth for i in layers}
        hidden: dict[int, Tensor] = {}
        for i, block in enumerate([*stem.blocks, *self.shared]):
            x = block(x, routing)
            if i in wanted:
                hidden[i] = x
        return self.norm(x), [hidden[i % self.depth] for i in layers]

    def encode(self, x: Tensor, modality: str, layers: tuple[int, ...] = ()) -> EncoderOutput:
        """Encoder-only features of one modality (no masking)."""
        check_images(x, modality, self.cfg)
        bad = [i for i in layers if not -self.depth <= i < self.depth]
        if bad:
            raise ValueError(f"layer indices {bad} out of range for {self.depth} encoder layers")
        tokens, hidden = self.encode_tokens(self.embed(x, modality), modality, tuple(layers))
        cls = tokens[:, 0]
        return EncoderOutput(tokens, cls, self.head(cls), hidden, self.cfg.grid)

    def forward(
        self, s1: Tensor, s2: Tensor, generator: torch.Generator | None = None
    ) -> ModelOutput:
        """Pretraining step: independent masks per sensor, all loss terms (Eq. 20)."""
        cfg = self.cfg
        check_pair(s1, s2, cfg)
        images = {"s1": s1, "s2": s2}
        routing: list[RoutingLosses] = []
        latents: dict[str, Tensor] = {}
        masks: dict[str, Masking] = {}
        for m, x in images.items():
            tokens = self.embed(x, m)
            masks[m] = random_masking(
                x.shape[0], tokens.shape[1], cfg.mask_ratio, x.device, generator
            )
            latents[m], _ = self.encode_tokens(
                gather_tokens(tokens, masks[m].keep), m, routing=routing
            )
        terms: dict[str, Tensor] = {}
        for target in MODALITIES:
            patches = patchify(images[target], cfg.patch_size)
            for source in MODALITIES:
                pred = self.decoders[target](latents[source], masks[source].restore)
                name = f"{'intra' if source == target else 'cross'}_{target}"
                terms[name] = masked_mse(pred, patches, masks[source].mask, cfg.norm_pix_loss)
        terms["contrastive"] = nt_xent(
            self.head(latents["s1"][:, 0]),
            self.head(latents["s2"][:, 0]),
            cfg.contrastive_temperature,
        )
        zero = s1.new_zeros(())
        terms["repulsion"] = torch.stack([r.repulsion for r in routing]).mean() if routing else zero
        terms["entropy"] = torch.stack([r.entropy for r in routing]).mean() if routing else zero
        w = cfg.loss_weights
        loss = (
            w["intra"] * (terms["intra_s1"] + terms["intra_s2"])
            + w["cross"] * (terms["cross_s1"] + terms["cross_s2"])
            + w["contrastive"] * terms["contrastive"]
            + w["repulsion"] * terms["repulsion"]
            + w["entropy"] * terms["entropy"]
        )
        terms["loss"] = loss
        return ModelOutput(loss, terms)


def build_model(cfg: ModelConfig, seed: int | None = None) -> CrossSensorMAE:
    """A freshly initialised CSMoE or CSMAE for ``cfg``. With ``seed`` the weights depend on
    it alone (the global torch RNG is left untouched); without, on the global torch RNG."""
    if seed is None:
        return CrossSensorMAE(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CrossSensorMAE(cfg)
