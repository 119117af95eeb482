from __future__ import annotations

import pytest

from csmoe.config import load_config
from csmoe.errors import ConfigError
from csmoe.evaluation.targets import (
    checkpoint_path,
    eval_plan,
    samples_of,
    sweep_epochs,
    task_dirs,
)


@pytest.fixture
def config():
    return load_config()


def test_default_plan_covers_the_paper(config):
    plan = eval_plan(config)
    assert plan.seg_tasks == ["m-cashew-plant", "m-SA-crop-type"]
    assert len(plan.cls_tasks) == 4 and plan.strategy in plan.strategies
    outputs = plan.probe_outputs("v", "final")
    # every linear and kNN head (k = 5, 20) of 4 tasks, UPerNet of 2: each JSON with its .npz
    assert len(outputs) == 4 * (len(plan.strategies) + 2) * 2 + 2 * 3
    assert "results/probe/v/final/m-cashew-plant/upernet_examples.npz" in outputs
    assert "results/probe/v/final/m-eurosat/knn20.npz" in outputs
    assert set(plan.knn_results("v", "final")) <= set(outputs)
    assert plan.cbir_results("v")[0] == "results/cbir/v/benv2_14k.json"
    assert samples_of(plan.cbir_results("v")[:1]) == ["results/cbir/v/benv2_14k.npz"]
    assert ("csmoe_p16", "csmoe_p16_random") in plan.comparisons
    assert plan.probe_results("v", 4)[0] == f"results/probe/v/4/m-bigearthnet/{plan.strategy}.json"
    assert task_dirs(["m-eurosat"]) == ["results/geobench/classification_v1.0/m-eurosat"]
    assert checkpoint_path("v", "4") == "results/pretrain/v/ckpt_epoch4.safetensors"
    assert sweep_epochs(config, plan.sweep_variant)  # pretraining saves at least one


def test_plan_refuses_unknown_variants_and_strategy(config):
    config["evaluation"]["sweep_variant"] = "nope"
    with pytest.raises(ConfigError, match=r"\['nope'\]"):
        eval_plan(config)
    config["evaluation"]["sweep_variant"] = ""
    config["evaluation"]["strategies"] = ["avg_all"]
    with pytest.raises(ConfigError, match=r"evaluation\.strategy"):
        eval_plan(config)


def test_plan_refuses_unknown_compared_variants_and_knn_strategy(config):
    config["report"]["comparisons"] = [{"a": "csmoe_p16", "b": "nope"}]
    with pytest.raises(ConfigError, match=r"comparisons name variants \['nope'\]"):
        eval_plan(config)
    config["report"]["comparisons"] = []
    config["evaluation"]["knn"]["strategy"] = "avg_all"
    config["evaluation"]["strategies"] = ["cls"]
    with pytest.raises(ConfigError, match=r"evaluation\.knn\.strategy"):
        eval_plan(config)


def test_tables_compare_complete_runs_and_fig5_sweeps_its_own(run_config):
    plan = eval_plan(run_config)
    length = run_config["pretrain"]["epochs"]
    compared = {*plan.table4_variants, *plan.cbir_variants, *plan.sampling_variants}
    compared |= {v for pair in plan.comparisons for v in pair}
    assert {v: sweep_epochs(run_config, v)[-1] for v in compared} == {v: length for v in compared}
    assert "csmae_benv2" in plan.table4_variants and "csmae" in plan.cbir_variants
    assert plan.sampling_variants == ["csmoe_p16", "csmoe_p16_random"]
    if plan.sweep_variant in compared:  # the default config: the sweep is that complete run
        assert sweep_epochs(run_config, plan.sweep_variant)[-1] == length
    else:  # paper scale (800 epochs) and its rehearsal: a longer run of its own, Fig. 5 only
        assert sweep_epochs(run_config, plan.sweep_variant)[-1] > length


def test_a_longer_run_in_the_tables_is_refused(config):
    config["variants"]["csmoe_p16"]["pretrain"] = {"epochs": 12}
    with pytest.raises(ConfigError, match=r"pretrain\.epochs \(6\).*sweep_variant"):
        eval_plan(config)
    config["evaluation"]["table4_variants"] = ["csmoe_p32"]
    config["evaluation"]["cbir_variants"] = ["csmoe_p32"]
    config["evaluation"]["sampling_variants"] = []
    config["report"]["comparisons"] = [{"a": "csmoe_p16", "b": "csmoe_p28"}]
    with pytest.raises(ConfigError, match=r"report\.comparisons"):  # compared: a complete run
        eval_plan(config)
    config["report"]["comparisons"] = [{"a": "csmoe_p32", "b": "csmoe_p28"}]
    assert eval_plan(config).sweep_variant == "csmoe_p16"  # as the sweep alone: fine


def test_sampling_variants_may_differ_in_their_training_set_only(config):
    config["variants"]["csmoe_p16_random"]["patch_size"] = 32
    with pytest.raises(ConfigError, match="more than its training set"):
        eval_plan(config)
    config["variants"]["csmoe_p16_random"] = {"model": "csmoe", "patch_size": 16}
    with pytest.raises(ConfigError, match="one variant per training set"):
        eval_plan(config)
    config["evaluation"]["sampling_variants"] = ["csmoe_p16"]
    with pytest.raises(ConfigError, match="at least two"):
        eval_plan(config)
