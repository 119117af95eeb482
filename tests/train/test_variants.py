from __future__ import annotations

import pytest

from csmoe.config import load_config
from csmoe.errors import ConfigError
from csmoe.train.variants import resolve_variant, variant_bundle

PAPER_VARIANTS = {
    "csmoe_p32",
    "csmoe_p28",
    "csmoe_p16",
    "csmoe_p14",
    "csmae",
    "csmoe_p16_random",
    "csmae_benv2",
}


def test_every_paper_variant_resolves(run_config):
    variants = set(run_config["variants"])
    assert PAPER_VARIANTS <= variants <= PAPER_VARIANTS | {"csmoe_p16_sweep"}
    jobs = {name: resolve_variant(variant_bundle(run_config, name)) for name in variants}
    assert {j.model["patch_size"] for n, j in jobs.items() if n.startswith("csmoe_p")} == {
        32,
        28,
        16,
        14,
    }
    assert jobs["csmae"].model["kind"] == jobs["csmae_benv2"].model["kind"] == "csmae"
    assert jobs["csmae_benv2"].train_set == "benv2" and jobs["csmae"].train_set == "mtom_mu"
    assert jobs["csmoe_p16_random"].train_set == "mtom_r"
    assert jobs["csmoe_p16"].train_set == "mtom_mu"


def test_paper_scale_trains_150_epochs_and_sweeps_a_separate_variant_to_800(paper_config):
    names = set(paper_config["variants"])
    jobs = {n: resolve_variant(variant_bundle(paper_config, n)) for n in names}
    assert jobs["csmoe_p32"].ckpt_epochs == [50, 100, 150]
    # every model of Tables IV/VI is a complete 150-epoch run: its warm-up and cosine end there
    assert {n: j.settings["epochs"] for n, j in jobs.items() if n != "csmoe_p16_sweep"} == {
        n: 150 for n in names - {"csmoe_p16_sweep"}
    }
    assert jobs["csmoe_p16_sweep"].ckpt_epochs == list(range(50, 801, 50))
    assert jobs["csmoe_p16_sweep"].model == jobs["csmoe_p16"].model
    assert jobs["csmoe_p16"].model["dim"] == 768
    # the BigEarthNet-v2 CSMAE is the paper's CSMAE (120 px, patch 15), like the MTomμ one
    assert jobs["csmae_benv2"].model == jobs["csmae"].model
    assert jobs["csmae"].model["img_size"] == 120 and jobs["csmae"].model["patch_size"] == 15


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


def test_pretraining_resources_come_from_the_config_and_layout_keys_are_refused(paper_config):
    res = resolve_variant(variant_bundle(paper_config, "csmoe_p16")).resources()
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
