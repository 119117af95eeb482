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
    assert plan.table4_epoch(plan.table4_variants[0]) == "final"
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
