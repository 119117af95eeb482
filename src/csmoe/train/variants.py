"""What one pretraining job is: a variant of ``config['variants']`` resolved against the
``models`` presets and the ``pretrain`` section.

Torch-free: the Snakemake rules import it to declare each variant's outputs. A rule passes
:func:`variant_bundle` (only the config parts that variant depends on) as ``--params``, so
editing one variant or one preset re-runs only the jobs that use it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from csmoe.errors import ConfigError
from csmoe.train.plan import checkpoint_epochs

TRAIN_SETS = ("mtom_mu", "mtom_r", "benv2")  # Major TOM samples, BigEarthNet-v2 pairs
# settings that change how a run is executed or recorded, never the weights it ends with:
# a saved training state stays valid when only these change (e.g. more GPUs, same global batch)
RUNTIME_KEYS = frozenset(
    {
        "ckpt_every",
        "state_every_steps",
        "num_workers",
        "threads",
        "gpus",
        "cpu_processes",
        "nodes",
        "mlflow_checkpoints",
        "resources",
    }
)
# resources that pretrain.gpus and pretrain.nodes decide (see PretrainJob.resources)
LAYOUT_RESOURCES = frozenset({"gpu", "gpus", "nodes", "tasks", "tasks_per_gpu", "mpi", "gres"})


def variant_bundle(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The parts of a full (validated) config that pretraining variant ``name`` depends on."""
    variants = config.get("variants", {})
    if name not in variants:
        raise ConfigError(f"no variant {name!r} in config['variants'] (have {sorted(variants)})")
    spec = variants[name]
    models = config.get("models", {})
    preset = spec.get("preset") or models.get("preset")
    presets = models.get("presets", {})
    if preset not in presets:
        raise ConfigError(f"variant {name!r}: no model preset {preset!r} (have {sorted(presets)})")
    return {
        "seed": config.get("seed", 0),
        "variant": name,
        "spec": spec,
        "models": {"preset": preset, "presets": {preset: presets[preset]}},
        "pretrain": config.get("pretrain", {}),
    }


@dataclass(frozen=True)
class PretrainJob:
    variant: str
    train_set: str
    model: dict[str, Any]  # ModelConfig.to_dict()
    settings: dict[str, Any]  # the pretrain section with the variant's overrides applied
    seed: int

    @property
    def ckpt_epochs(self) -> list[int]:
        return checkpoint_epochs(self.settings["epochs"], self.settings["ckpt_every"])

    def fingerprint(self, data: str = "") -> str:
        """Hash of everything that determines the trained weights (see ``RUNTIME_KEYS``);
        ``data`` identifies the training data itself (:func:`csmoe.train.data.store_identity`)."""
        core = {k: v for k, v in self.settings.items() if k not in RUNTIME_KEYS}
        blob = json.dumps(
            [self.model, core, self.seed, self.train_set, data], sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def threads(self) -> int:
        """CPU threads of the job: ``pretrain.threads``, and at least one per CPU process."""
        s = self.settings
        return max(s["threads"], s["cpu_processes"] if s["gpus"] == 0 else 1)

    def resources(self) -> dict[str, Any]:
        """Snakemake resources: ``pretrain.resources`` (partition, runtime, memory, CPUs of
        the SLURM job; they depend on the model, so they come from the config, not the
        profile) and the process layout. One node: ``gpu=N`` (the local profile's global
        budget; sbatch ``--gpus=N --nodes=1``). Several: one task per node and ``gres`` per
        node, and ``mpi`` so that the plugin does not wrap the job in ``srun -n1``:
        ``csmoe pretrain run`` starts the per-node tasks itself."""
        s = self.settings
        if s["nodes"] == 1:
            return {**s["resources"], "gpu": s["gpus"], "nodes": 1}
        layout: dict[str, Any] = {"nodes": s["nodes"], "tasks": s["nodes"], "mpi": "srun"}
        if s["gpus"]:
            # else the plugin turns `tasks` into --ntasks-per-gpu
            layout.update(gres=f"gpu:{s['gpus']}", tasks_per_gpu=0)
        return {**s["resources"], **layout}

    def tags(self) -> dict[str, Any]:
        """MLflow tags that make variants comparable side by side in the UI."""
        return {
            "variant": self.variant,
            "model": self.model["kind"],
            "patch_size": self.model["patch_size"],
            "img_size": self.model["img_size"],
            "train_set": self.train_set,
        }


def resolve_variant(bundle: dict[str, Any]) -> PretrainJob:
    """Turn a :func:`variant_bundle` into a checked :class:`PretrainJob`."""
    from csmoe.models.config import ModelConfig

    name, spec = bundle["variant"], bundle["spec"]
    train_set = spec.get("train_set", "mtom_mu")
    if train_set not in TRAIN_SETS:
        raise ConfigError(f"variant {name!r}: train_set must be one of {TRAIN_SETS}")
    overrides = {"kind": spec["model"]} if "model" in spec else {}
    for key in ("patch_size", "img_size"):
        if key in spec:
            overrides[key] = spec[key]
    cfg = ModelConfig.preset(bundle["models"]["preset"], bundle["models"], **overrides)
    settings = {**bundle["pretrain"], **spec.get("pretrain", {})}
    unknown = set(spec.get("pretrain", {})) - set(bundle["pretrain"])
    if unknown:
        raise ConfigError(f"variant {name!r}: unknown pretrain overrides {sorted(unknown)}")
    taken = LAYOUT_RESOURCES & set(settings.get("resources", {}))
    if taken:
        raise ConfigError(
            f"variant {name!r}: pretrain.resources must not set {sorted(taken)}; "
            "pretrain.gpus and pretrain.nodes decide them"
        )
    return PretrainJob(name, train_set, cfg.to_dict(), settings, int(bundle["seed"]))
