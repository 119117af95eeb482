from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from csmoe.errors import ConfigError, InputError
from csmoe.evaluation.bootstrap import BootstrapConfig, interval, load_samples, scores_from
from csmoe.evaluation.run import cbir_set, load_checked, probe_task
from csmoe.evaluation.strategies import STRATEGIES
from csmoe.models import ModelConfig

PARAMS = {
    "strategies": list(STRATEGIES),
    "tasks": {
        "m-eurosat": {"modality": "s2"},
        "m-bigearthnet": {"modality": "s2"},
        "m-SA-crop-type": {"modality": "s2"},
    },
    "linear": {"epochs": 5, "batch_size": 16, "lr": 1e-2},
    "upernet": {
        "scales": [2, 1],
        "channels": 8,
        "pool_bins": [1, 2],
        "epochs": 2,
        "batch_size": 8,
        "n_examples": 2,
    },
    "cbir": {"k": 3, "strategy": "cls", "sets": {"benv2_243k": "243k", "benv2_14k": "14k"}},
    "threads": 1,
    "seeds": 2,
    "bootstrap": {"resamples": 200, "confidence": 0.95, "seed": 0},
    "knn": {"k": [3], "strategy": "cls"},
}
BENV2_MOCK = files("configilm") / "extra" / "mock_data" / "BENv2"


def _probe(tmp_path, root, ckpt, task, **kw):
    return probe_task(
        params=PARAMS,
        ckpt=load_checked(ckpt, kw.get("expected")),
        geobench_root=root,
        task=task,
        variant="tiny",
        epoch="final",
        out_dir=tmp_path / task,
        seed=0,
    )


def test_linear_probe_writes_one_record_per_strategy(tmp_path, geobench_root, random_checkpoint):
    paths = _probe(tmp_path, geobench_root, random_checkpoint, "m-eurosat")
    assert [p.stem for p in paths] == [*STRATEGIES, "knn3"]
    record = json.loads(paths[2].read_text())
    assert record["strategy"] == "cls" and record["metric"] == "AA"
    assert 0 <= record["test"] <= 100 and record["score"] == record["test"]
    # two head seeds: their mean, spread, and a bootstrap interval around the mean
    assert record["settings"]["seeds"] == [0, 1] and len(record["test_seeds"]) == 2
    assert record["test"] == pytest.approx(np.mean(record["test_seeds"]))
    assert record["test_std"] == pytest.approx(np.std(record["test_seeds"], ddof=1))
    assert record["test_ci_low"] <= record["test"] <= record["test_ci_high"]
    assert record["settings"]["bootstrap"]["resamples"] == 200
    assert record["bootstrap"] == {"key": "m-eurosat", "n": 8, "undefined": 0}
    # the interval comes from the stored per-sample predictions alone
    samples = load_samples(record["samples"])
    assert samples["pred"].shape == (2, 8) and str(samples["data"]) == record["test_data"]
    boot = BootstrapConfig(resamples=200, seed=0)
    ci = interval(scores_from(samples), boot, "m-eurosat")
    assert (ci["ci_low"], ci["ci_high"]) == (record["test_ci_low"], record["test_ci_high"])
    knn = json.loads(paths[-1].read_text())
    assert knn["settings"]["knn"]["k"] == 3 and knn["settings"]["seeds"] == []
    assert knn["test_std"] is None and knn["test_ci_low"] <= knn["test"] <= knn["test_ci_high"]
    assert record["model"]["patch_size"] == 8 and record["complexity"]["gflops"] > 0
    assert record["train_set"] == "mtom_mu"
    assert record["n"] == {"train": 24, "valid": 8, "test": 8} and record["mlflow_run_id"]
    # the frozen features were cached once per split and are reused by a rerun
    cache = sorted(p.name for p in (tmp_path / "m-eurosat" / "cache").iterdir())
    assert cache == ["test.npz", "train.npz", "valid.npz"]
    mtime = (tmp_path / "m-eurosat" / "cache" / "train.npz").stat().st_mtime_ns
    again = _probe(tmp_path, geobench_root, random_checkpoint, "m-eurosat")
    assert json.loads(again[2].read_text())["test"] == record["test"]
    assert (tmp_path / "m-eurosat" / "cache" / "train.npz").stat().st_mtime_ns == mtime


def test_multilabel_and_segmentation_records(tmp_path, geobench_root, random_checkpoint):
    ml = json.loads(
        _probe(tmp_path, geobench_root, random_checkpoint, "m-bigearthnet")[0].read_text()
    )
    assert ml["metric"] == "mAP_micro" and ml["num_classes"] == 43
    # only 8 of the 43 classes occur in the generated data: listed, not hidden
    assert len(ml["absent_train_classes"]) >= 35
    (seg_path,) = _probe(tmp_path, geobench_root, random_checkpoint, "m-SA-crop-type")
    seg = json.loads(seg_path.read_text())
    assert seg_path.name == "upernet.json" and seg["metric"] == "mIoU"
    assert seg["settings"]["upernet"]["layers"] == [0, 1]
    assert (tmp_path / "m-SA-crop-type" / "upernet_examples.npz").exists()


def test_checkpoint_that_does_not_match_the_config_is_refused(
    tmp_path, geobench_root, random_checkpoint, tiny_model
):
    expected = ModelConfig.from_dict({**tiny_model, "patch_size": 4}).to_dict()
    with pytest.raises(InputError, match=r"patch_size: 8 != 4"):
        _probe(tmp_path, geobench_root, random_checkpoint, "m-eurosat", expected=expected)
    with pytest.raises(ConfigError, match="no entry for 'm-so2sat'"):
        _probe(tmp_path, geobench_root, random_checkpoint, "m-so2sat")


def test_cbir_on_real_bigearthnet_v2_patches(tmp_path, random_checkpoint):
    out = cbir_set(
        params=PARAMS,
        ckpt=load_checked(random_checkpoint, None),
        benv2_root=BENV2_MOCK,
        set_name="benv2_243k",
        variant="tiny",
        out=tmp_path / "benv2_243k.json",
    )
    record = json.loads(out.read_text())
    assert set(record["pairs"]) == {"s1s1", "s2s2", "s1s2", "s2s1"}
    assert record["n_queries"] == 6 and record["n_archive"] == 6 and record["k"] == 3
    for v in record["pairs"].values():
        assert 0 <= v["f1_ci_low"] <= v["f1"] <= v["f1_ci_high"] <= 100
        assert v["f1"] == pytest.approx(
            2 * v["precision"] * v["recall"] / (v["precision"] + v["recall"])
        )
        assert v["f1_std"] is None  # retrieval trains nothing: no seeds
    samples = load_samples(record["samples"])
    assert samples["s1s2_precision"].shape == (6,) and str(samples["kind"]) == "retrieval"
    # CSMAE's F1 (of the averaged precision and recall) is never below the per-item mean
    assert all(v["f1"] >= v["f1_per_item"] - 1e-9 for v in record["pairs"].values())
    assert record["train_set"] == "mtom_mu"  # from the checkpoint: paper rows match on it
    # k as large as the archive would retrieve all of it for every query: refused
    with pytest.raises(InputError, match="whole archive"):
        cbir_set(
            params={**PARAMS, "cbir": {**PARAMS["cbir"], "k": 6}},
            ckpt=load_checked(random_checkpoint, None),
            benv2_root=BENV2_MOCK,
            set_name="benv2_243k",
            variant="tiny",
            out=tmp_path / "k6.json",
        )
    # the mock holds Austrian summer patches only: the Serbian 14k set has no query
    with pytest.raises(InputError, match="no patches in subset '14k'"):
        cbir_set(
            params=PARAMS,
            ckpt=load_checked(random_checkpoint, None),
            benv2_root=BENV2_MOCK,
            set_name="benv2_14k",
            variant="tiny",
            out=tmp_path / "benv2_14k.json",
        )
    assert not (tmp_path / "benv2_14k.json").exists()


def test_cli_probes_several_tasks_of_one_checkpoint(tmp_path, geobench_root, random_checkpoint):
    from csmoe.cli import main

    params = json.dumps({**PARAMS, "strategies": ["cls"]})
    args = [
        "evaluate",
        "probe",
        "--params",
        params,
        "--checkpoint",
        str(random_checkpoint),
        "--variant",
        "tiny",
        "--epoch",
        "final",
        "--geobench",
        str(geobench_root),
        "--tasks",
        "m-eurosat",
        "m-SA-crop-type",
        "--out-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert (tmp_path / "m-eurosat" / "cls.json").exists()
    assert (tmp_path / "m-SA-crop-type" / "upernet.json").exists()
    # a corrupt checkpoint is one clear error line, exit status 2
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    args[args.index(str(random_checkpoint))] = str(bad)
    assert main(args) == 2


def _checkpoint_with(tmp_path, tiny_model, name, norm=None, **extra):
    import torch
    from scene_fixtures import norm_stats, scenes

    from csmoe.models import build_model
    from csmoe.models.checkpoint import save

    torch.manual_seed(0)
    cfg = ModelConfig.from_dict(tiny_model)
    path = tmp_path / f"{name}.safetensors"
    save(path, build_model(cfg), cfg, norm or norm_stats(scenes(4, 1)), extra)
    return path


def test_checkpoint_identity_is_checked_against_what_is_evaluated(tmp_path, tiny_model):
    p16 = {"variant": "csmoe_p16", "epoch": 4, "train_set": "mtom_mu"}
    path = _checkpoint_with(tmp_path, tiny_model, "p16", **p16)
    assert load_checked(path, None, identity={**p16, "epoch": "final"}).digest
    assert load_checked(path, None, identity={"variant": "csmoe_p16", "epoch": "4"}).digest
    for wrong, words in (
        ({"variant": "csmoe_p16_random"}, "variant 'csmoe_p16', not 'csmoe_p16_random'"),
        ({"train_set": "mtom_r"}, "train_set 'mtom_mu', not 'mtom_r'"),
        ({"epoch": "2"}, "epoch 4, not '2'"),
    ):
        with pytest.raises(InputError, match=rf"p16\.safetensors: checkpoint is of {words}"):
            load_checked(path, None, identity={**p16, **wrong})


def test_non_finite_or_zero_statistics_in_a_checkpoint_are_refused(tmp_path, tiny_model):
    from scene_fixtures import norm_stats, scenes

    good = norm_stats(scenes(4, 1))
    nan = {**good, "s2": {**good["s2"], "mean": [float("nan")] * 10}}
    zero = {**good, "s1": {**good["s1"], "std": [0.0, 1.0]}}
    short = {**good, "s2": {**good["s2"], "std": [1.0] * 9}}
    for name, stats, words in (
        ("nan", nan, r"s2 mean of B02 is nan \(not finite\)"),
        ("zero", zero, r"s1 std of VV is 0.0 \(not positive\)"),
        ("short", short, r"s2 std must list 10 numbers"),
    ):
        path = _checkpoint_with(tmp_path, tiny_model, name, stats)
        with pytest.raises(InputError, match=rf"{name}\.safetensors: {words}"):
            load_checked(path, None)


def test_cli_refuses_a_checkpoint_of_another_variant(tmp_path, geobench_root, tiny_model, capsys):
    from csmoe.cli import main

    path = _checkpoint_with(tmp_path, tiny_model, "p16", variant="csmoe_p16", epoch=2)
    args = ["evaluate", "probe", "--params", json.dumps(PARAMS), "--checkpoint", str(path)]
    args += ["--variant", "csmoe_p16_random", "--epoch", "final", "--geobench"]
    args += [str(geobench_root), "--tasks", "m-eurosat", "--out-dir", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("variant 'csmoe_p16', not 'csmoe_p16_random'; check --checkpoint")
    assert not (tmp_path / "out").exists()
