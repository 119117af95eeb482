from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch
from pretrain_fixtures import TINY_MODEL, make_store, schema_settings
from safetensors.torch import load_file

from csmoe.cli import main
from csmoe.config import REPO_ROOT
from csmoe.train.launch import free_port


def _bundle(tmp_path, **settings):
    pretrain = {
        "epochs": 1,
        "ckpt_every": 1,
        "batch_size": 8,
        "micro_batch_size": 4,
        "lr": 3e-3,
        "state_dir": str(tmp_path / "state"),
        **settings,
    }
    return {
        "seed": 0,
        "variant": "tiny",
        "spec": {"model": "csmoe", "train_set": "mtom_mu"},
        "models": {"preset": "t", "presets": {"t": TINY_MODEL}},
        "pretrain": schema_settings(**pretrain),
    }


def _args(tmp_path, bundle, store=None, stats=None, out="out"):
    store = store or tmp_path / "missing.zarr"
    return [
        "pretrain",
        "run",
        "--variant",
        "tiny",
        "--params",
        json.dumps(bundle),
        f"--store={store}",
        f"--stats={stats or tmp_path / 'stats.json'}",
        f"--out={tmp_path / out}",
    ]


def test_two_cpu_processes_match_one_with_the_same_global_batch(tmp_path):
    pytest.importorskip("csmoe.data.store", reason="the patch store comes with the data stage")
    store, stats = make_store(tmp_path / "patches", tiles=4)
    one = _bundle(tmp_path / "one")
    assert main([*_args(tmp_path, one, store, stats, "one"), "--cpu"]) == 0
    two = _bundle(tmp_path / "two", cpu_processes=2)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "csmoe.cli", *_args(tmp_path, two, store, stats, "two"), "--cpu"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_same_weights(tmp_path / "one", tmp_path / "two")


def test_two_cpu_processes_with_the_chunk_loader_finish(tmp_path):
    # ranks read disjoint chunks (test_loop) and must agree on the epoch length, else one
    # waits forever in a collective: the timeout is the deadlock check
    pytest.importorskip("csmoe.data.store", reason="the patch store comes with the data stage")
    store, stats = make_store(tmp_path / "patches", tiles=4)
    two = _bundle(tmp_path / "two", cpu_processes=2, loader="chunks", epochs=2, ckpt_every=2)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "csmoe.cli", *_args(tmp_path, two, store, stats, "two"), "--cpu"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    history = pd.read_csv(tmp_path / "two" / "history.csv")
    assert history["epoch"].tolist() == [1, 2] and history["train_loss"].notna().all()


def test_print_launch_shows_the_accelerate_command(tmp_path, capsys):
    bundle = _bundle(tmp_path, cpu_processes=3)
    assert main([*_args(tmp_path, bundle), "--cpu", "--print-launch"]) == 0
    cmd = capsys.readouterr().out
    assert "accelerate.commands.launch --multi_gpu --num_processes=3" in cmd
    assert "csmoe.cli --log-level INFO pretrain run --variant tiny" in cmd and "--cpu" in cmd


def test_more_gpu_processes_than_gpus_fail_clearly(tmp_path, capsys):
    bundle = _bundle(tmp_path, gpus=torch.cuda.device_count() + 1)
    assert main(_args(tmp_path, bundle)) == 2
    assert "GPU(s) are visible; lower pretrain.gpus" in capsys.readouterr().err


def test_missing_store_fails_clearly(tmp_path, capsys):
    assert main([*_args(tmp_path, _bundle(tmp_path)), "--cpu"]) == 2
    err = capsys.readouterr().err
    assert "missing.zarr: patch store not found; rebuild it with `snakemake" in err
    assert not (tmp_path / "out").exists()


def test_corrupt_store_fails_clearly(tmp_path, capsys):
    pytest.importorskip("csmoe.data.store", reason="the patch store comes with the data stage")
    store = tmp_path / "store.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{not json")
    (tmp_path / "stats.json").write_text(json.dumps({"band_stats": {}}))
    assert main([*_args(tmp_path, _bundle(tmp_path), store), "--cpu"]) == 2
    assert "store.zarr: " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_multi_node_path_under_slurm(tmp_path, capsys, monkeypatch):
    bundle = _bundle(tmp_path, gpus=4, nodes=2)
    for var in ("SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(var, raising=False)
    assert main([*_args(tmp_path, bundle), "--print-launch"]) == 2  # no allocation
    assert "needs a SLURM allocation" in capsys.readouterr().err
    monkeypatch.setenv("SLURM_JOB_ID", "7")  # the batch script: one task per node via srun
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "2")
    assert main([*_args(tmp_path, bundle), "--print-launch"]) == 0
    srun = capsys.readouterr().out
    assert srun.startswith("srun --nodes=2 --ntasks=2 --ntasks-per-node=1")
    assert "pretrain run" in srun
    # inside the srun task on the second node: accelerate for all 8 processes, rank 1
    monkeypatch.setenv("SLURM_STEP_ID", "0")
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_NTASKS", "2")
    monkeypatch.setenv("MASTER_ADDR", "node-a")
    assert main([*_args(tmp_path, bundle), "--print-launch"]) == 0
    node = capsys.readouterr().out
    for flag in (
        "--num_processes=8",
        "--num_machines=2",
        "--machine_rank=1",
        "--main_process_ip=node-a",
        "--main_process_port=20007",
    ):
        assert flag in node


def test_two_machine_ranks_on_loopback_match_one_process(tmp_path):
    """pretrain.nodes: 2 on CPU: the two per-rank commands srun would start, started here on
    loopback (tests/cluster runs them as two SLURM tasks): gloo across the two ranks."""
    pytest.importorskip("csmoe.data.store", reason="the patch store comes with the data stage")
    store, stats = make_store(tmp_path / "patches", tiles=4)
    one = _bundle(tmp_path / "one")
    assert main([*_args(tmp_path, one, store, stats, "one"), "--cpu"]) == 0
    two = _bundle(tmp_path / "two", nodes=2)
    base = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "OMP_NUM_THREADS": "1",
        "SLURM_JOB_ID": "1",
        "SLURM_STEP_ID": "0",
        "SLURM_NTASKS": "2",
        "MASTER_ADDR": "127.0.0.1",
        "CSMOE_MAIN_PORT": str(free_port()),
    }
    cmd = [sys.executable, "-m", "csmoe.cli", *_args(tmp_path, two, store, stats, "two"), "--cpu"]
    ranks = [
        subprocess.Popen(
            cmd,
            env={**base, "SLURM_PROCID": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in (0, 1)
    ]
    logs = [rank.communicate(timeout=300)[0] for rank in ranks]
    assert [rank.returncode for rank in ranks] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    # one training across both ranks: only the main process (machine rank 0) reports epochs
    assert "starting machine rank 1 of 2" in logs[1]
    assert "tiny epoch 1/1 done" in logs[0] and "tiny epoch 1/1" not in logs[1]
    _assert_same_weights(tmp_path / "one", tmp_path / "two")


def _assert_same_weights(one, two):
    a = load_file(str(one / "final.safetensors"))
    b = load_file(str(two / "final.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-6, msg=key)
    h1 = pd.read_csv(one / "history.csv")
    h2 = pd.read_csv(two / "history.csv")
    for column in ("train_loss", "train_contrastive", "val_loss"):
        assert h1[column].to_numpy() == pytest.approx(h2[column].to_numpy(), rel=1e-4)


def test_unusable_statistics_fail_clearly(tmp_path, capsys):
    # NaN means used to give a checkpoint whose features are all NaN, and chance-level
    # probes with exit status 0
    store, stats = make_store(tmp_path / "patches", tiles=2)
    good = json.loads(stats.read_text())
    bad = json.loads(stats.read_text())
    bad["band_stats"]["s2"]["mean"][3] = float("nan")
    stats.write_text(json.dumps(bad))
    assert main([*_args(tmp_path, _bundle(tmp_path), store, stats), "--cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith("stats.json: s2 mean of B08 is nan (not finite)")
    good["band_stats"]["s1"]["mean"][0] += 1.0  # finite, but not what the store normalises with
    stats.write_text(json.dumps(good))
    assert main([*_args(tmp_path, _bundle(tmp_path), store, stats), "--cpu"]) == 2
    assert "stats.json: band statistics differ from those of" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
