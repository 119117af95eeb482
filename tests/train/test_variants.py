from __future__ import annotations

import pytest

from csmoe.config import REPO_ROOT, load_config
from csmoe.errors import ConfigError
from csmoe.train.variants import resolve_variant, variant_bundle

PAPER_VARIANTS = {"csmoe_p32", "csmoe_p28", "csmoe_p16", "csmoe_p14", "csmae", "csmoe_p16_random"}


def _paper_config():
    # Snakemake merges --configfile paper.yaml onto config.yaml; mirror that
    config, paper = load_config(), load_config(REPO_ROOT / "config" / "paper.yaml")
    for key, value in paper.items():
        if isinstance(value, dict) and key in ("variants", "pretrain", "models"):
            config[key] = _merge(config.get(key, {}), value)
        else:
            config[key] = value
    return config


def _merge(base, top):
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and key in base else value
    return out


@pytest.mark.parametrize("loader", [load_config, _paper_config], ids=["default", "paper"])
def test_every_paper_variant_resolves(loader):
    config = loader()
    assert set(config["variants"]) == PAPER_VARIANTS
    jobs = {name: resolve_variant(variant_bundle(config, name)) for name in PAPER_VARIANTS}
    assert {j.model["patch_size"] for n, j in jobs.items() if n.startswith("csmoe_p")} == {
        32,
        28,
        16,
        14,
    }
    assert jobs["csmae"].model["kind"] == "csmae"
    assert jobs["csmoe_p16_random"].train_set == "mtom_r"
    assert jobs["csmoe_p16"].train_set == "mtom_mu"


def test_paper_scale_checkpoints_every_50_epochs_and_sweeps_to_800():
    jobs = {n: resolve_variant(variant_bundle(_paper_config(), n)) for n in PAPER_VARIANTS}
    assert jobs["csmoe_p32"].ckpt_epochs == [50, 100, 150]
    assert jobs["csmoe_p16"].ckpt_epochs == list(range(50, 801, 50))
    assert jobs["csmoe_p16"].model["dim"] == 768


def test_default_config_has_several_checkpoints_and_cpu_resources():
    job = resolve_variant(variant_bundle(load_config(), "csmoe_p16"))
    assert len(job.ckpt_epochs) >= 2
    assert job.resources() == {"gpu": 0, "nodes": 1}
    assert job.threads == 1
    bundle = variant_bundle(load_config(), "csmoe_p16")
    bundle["pretrain"] = {**bundle["pretrain"], "cpu_processes": 2}
    assert resolve_variant(bundle).threads == 2  # one thread per CPU process at least
    assert job.model["img_size"] == 224


def test_bundle_holds_only_what_the_variant_depends_on():
    config = load_config()
    bundle = variant_bundle(config, "csmae")
    assert list(bundle["models"]["presets"]) == [config["models"]["preset"]]
    assert bundle["spec"] == config["variants"]["csmae"]
    with pytest.raises(ConfigError, match="no variant 'nope'"):
        variant_bundle(config, "nope")


def test_fingerprint_ignores_how_a_run_is_executed():
    bundle = variant_bundle(load_config(), "csmoe_p16")
    base = resolve_variant(bundle).fingerprint()
    more_gpus = {**bundle, "pretrain": {**bundle["pretrain"], "gpus": 8, "ckpt_every": 1}}
    assert resolve_variant(more_gpus).fingerprint() == base
    other_lr = {**bundle, "pretrain": {**bundle["pretrain"], "lr": 1.0}}
    assert resolve_variant(other_lr).fingerprint() != base


def test_multi_node_resources_ask_gpus_per_node():
    bundle = variant_bundle(load_config(), "csmoe_p16")
    bundle["pretrain"] = {**bundle["pretrain"], "gpus": 4, "nodes": 2}
    res = resolve_variant(bundle).resources()
    assert res["gres"] == "gpu:4" and res["nodes"] == 2 and res["tasks"] == 2
    assert "gpu" not in res and res["tasks_per_gpu"] == 0


def test_pretraining_resources_come_from_the_config_and_layout_keys_are_refused():
    jobs = {n: resolve_variant(variant_bundle(_paper_config(), n)) for n in PAPER_VARIANTS}
    res = jobs["csmoe_p16"].resources()
    assert res["slurm_partition"] == "gpu" and res["gpu"] == 4 and res["nodes"] == 1
    assert res["mem_mb"] == 128000 and res["runtime"] == 2880 and res["cpus_per_task"] == 32
    bundle = variant_bundle(load_config(), "csmoe_p16")
    bundle["spec"] = {**bundle["spec"], "pretrain": {"resources": {"nodes": 2}}}
    with pytest.raises(ConfigError, match=r"must not set \['nodes'\].*pretrain.nodes"):
        resolve_variant(bundle)


def test_multi_node_cpu_resources_ask_no_gpus():
    bundle = variant_bundle(load_config(), "csmoe_p16")
    bundle["pretrain"] = {**bundle["pretrain"], "gpus": 0, "nodes": 2, "resources": {"mem_mb": 9}}
    res = resolve_variant(bundle).resources()
    assert res == {"mem_mb": 9, "nodes": 2, "tasks": 2, "mpi": "srun"}


def test_unknown_variant_override_is_refused():
    bundle = variant_bundle(load_config(), "csmoe_p16")
    bundle["spec"] = {**bundle["spec"], "pretrain": {"epochz": 3}}
    with pytest.raises(ConfigError, match="epochz"):
        resolve_variant(bundle)
