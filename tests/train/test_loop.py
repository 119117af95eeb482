from __future__ import annotations

import shutil

import pytest
import torch
from pretrain_fixtures import make_job, make_store
from safetensors.torch import load_file

from csmoe import tracking
from csmoe.errors import ConfigError, InputError
from csmoe.models import build_model
from csmoe.models.checkpoint import load
from csmoe.models.config import ModelConfig
from csmoe.train import loop as loop_module
from csmoe.train.data import ChunkFeed, open_store, store_identity
from csmoe.train.loop import TrainingDiverged, run_pretraining
from csmoe.train.optim import param_groups
from csmoe.train.state import Progress, StateDir


@pytest.fixture(autouse=True)
def _one_thread():
    # as the CLI does (pretrain.threads): two threads on a busy 2-core machine are 10x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mlflow_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(autouse=True)
def _shared_mlflow(mlflow_dir, monkeypatch):
    # one store for the module: creating an MLflow database costs seconds; runs are told
    # apart by variant name
    monkeypatch.setenv(tracking.URI_ENV, f"sqlite:///{mlflow_dir / 'mlflow.db'}")
    monkeypatch.setenv(tracking.ARTIFACTS_ENV, str(mlflow_dir / "artifacts"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    pytest.importorskip("csmoe.data.store", reason="the patch store comes with the data stage")
    store, stats = make_store(tmp_path_factory.mktemp("patches"))
    return open_store(store, stats)


def _train(job, store, out):
    train, val, stats = store
    return run_pretraining(
        job, train, val, stats, out, StateDir(job.settings["state_dir"]), cpu=True
    )


def _mlflow_runs(variant):
    import mlflow

    mlflow.set_tracking_uri(tracking.store_uri())
    return mlflow.search_runs(
        experiment_names=["csmoe/pretrain"],
        filter_string=f"tags.variant = '{variant}'",
        output_format="list",
    )


def test_loss_decreases_and_checkpoints_load_into_the_encoder(tmp_path, store):
    job = make_job(tmp_path, "decreasing", epochs=4, ckpt_every=2)
    history = _train(job, store, tmp_path / "out")
    val = [row["val_loss"] for row in history]
    train = [row["train_loss"] for row in history]
    assert val[-1] < val[0] and train[-1] < train[0]
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "ckpt_epoch2.safetensors",
        "ckpt_epoch4.safetensors",
        "final.safetensors",
        "history.csv",
        "loss_curve.png",
    ]
    model, cfg, norm_stats, extra = load(tmp_path / "out" / "ckpt_epoch2.safetensors")
    assert cfg == ModelConfig.from_dict(job.model) and extra["epoch"] == 2
    assert norm_stats == store[2] and set(norm_stats) == {"s1", "s2"}
    features = model.encode(torch.zeros(3, 10, 32, 32), "s2")
    assert features.cls.shape == (3, 16)
    header = (tmp_path / "out" / "history.csv").read_text().splitlines()[0].split(",")
    for column in (
        "epoch",
        "train_loss",
        "train_contrastive",
        "train_intra_s1",
        "val_loss",
        "lr",
        "images_per_s",
    ):
        assert column in header
    (run,) = _mlflow_runs("decreasing")
    assert run.data.tags["patch_size"] == "8"
    assert run.data.params["pretrain.lr"] == str(job.settings["lr"])
    assert run.data.metrics["val_loss"] == pytest.approx(val[-1])


def test_chunk_loader_trains_and_loss_decreases(tmp_path, store):
    job = make_job(tmp_path, "chunks", epochs=4, loader="chunks", num_workers=1)
    history = _train(job, store, tmp_path / "out")
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (tmp_path / "out" / "final.safetensors").exists()


def test_chunk_feed_deals_disjoint_chunks_of_equal_length(store):
    train = store[0]
    micro, epochs = 2, 3
    feeds = [ChunkFeed(train, micro, 0, rank, 2, 0) for rank in (0, 1)]
    steps = feeds[0].batches_per_epoch(epochs)
    assert steps == feeds[1].batches_per_epoch(epochs) > 0  # every rank agrees
    for epoch in range(epochs):
        seen = []
        for feed in feeds:
            batches = list(feed.epoch(epoch))
            assert len(batches) >= steps and all(len(b["s2"]) == micro for b in batches)
            # a patch by its content: the normalised S2 values of one pixel row
            seen.append({tuple(x[0, 0, :4].tolist()) for b in batches for x in b["s2"]})
        assert seen[0] and seen[1] and not seen[0] & seen[1]
    skipped = list(feeds[0].epoch(1, skip=2))
    assert torch.equal(skipped[0]["s2"], list(feeds[0].epoch(1))[2]["s2"])


def _weights(path):
    return load_file(str(path))


@pytest.mark.parametrize("loader", ["patches", "chunks"])
def test_killed_run_resumes_to_the_same_weights(tmp_path, store, monkeypatch, loader):
    whole = make_job(tmp_path / "a", f"whole_{loader}", state_every_steps=1, loader=loader)
    ref = _train(whole, store, tmp_path / "a" / "out")

    job = make_job(tmp_path / "b", f"killed_{loader}", state_every_steps=1, loader=loader)
    original = loop_module._Loop._train_step

    def killed(self, epoch, step, *args):
        if (epoch, step) == (1, 2):
            raise KeyboardInterrupt("wall-time limit")  # like SIGTERM/SIGKILL: no clean-up
        return original(self, epoch, step, *args)

    monkeypatch.setattr(loop_module._Loop, "_train_step", killed)
    with pytest.raises(KeyboardInterrupt):
        _train(job, store, tmp_path / "b" / "out")
    saved = torch.load(tmp_path / "b" / "state" / "state.pt", weights_only=True)
    assert (saved["progress"]["epoch"], saved["progress"]["step"]) == (1, 2)
    monkeypatch.setattr(loop_module._Loop, "_train_step", original)
    resumed = _train(job, store, tmp_path / "b" / "out")

    a, b = (
        _weights(tmp_path / "a/out/final.safetensors"),
        _weights(tmp_path / "b/out/final.safetensors"),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for got, want in zip(resumed, ref, strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-5)
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-6)
    finished, killed = sorted(_mlflow_runs(f"killed_{loader}"), key=lambda r: r.info.status)
    assert (killed.info.status, finished.info.status) == ("KILLED", "FINISHED")
    assert finished.data.tags["resumed_from_run"] == killed.info.run_id

    # done: the state keeps no weights or optimizer (the checkpoints hold the weights), and
    # the final checkpoint is the last epoch's file, not a second copy
    finished = torch.load(tmp_path / "b" / "state" / "state.pt", weights_only=True)
    assert finished["finished"] and not {"model", "optimizer"} & set(finished)
    ckpt = tmp_path / "b" / "state" / "ckpt"
    assert (ckpt / "final.safetensors").samefile(ckpt / "ckpt_epoch2.safetensors")

    # Snakemake deletes the outputs of a job it reruns: a finished state republishes them
    shutil.rmtree(tmp_path / "b" / "out")
    again = _train(job, store, tmp_path / "b" / "out")
    assert again == resumed
    c = _weights(tmp_path / "b/out/final.safetensors")
    assert all(torch.equal(a[k], c[k]) for k in a)
    assert (tmp_path / "b/out/ckpt_epoch1.safetensors").exists()
    (ckpt / "ckpt_epoch1.safetensors").unlink()
    shutil.rmtree(tmp_path / "b" / "out")
    with pytest.raises(InputError, match=r"lacks \['ckpt_epoch1.safetensors'\].*delete"):
        _train(job, store, tmp_path / "b" / "out")


def test_a_rebuilt_store_is_not_resumed(tmp_path):
    # changing data.extract.val_fraction rebuilds the store under the same name: the saved
    # state (at its last epoch) must not be resumed, else nothing is trained and the old
    # weights are written with the new store's statistics
    def store_with(val_fraction):
        store, stats = make_store(tmp_path / "patches", tiles=4, val_fraction=val_fraction)
        return open_store(store, stats)

    job = make_job(tmp_path / "state_a", "rebuilt")
    _train(job, store_with(0.25), tmp_path / "a")
    rebuilt = store_with(0.5)
    history = _train(job, rebuilt, tmp_path / "b")
    fresh = make_job(tmp_path / "state_c", "fresh")
    _train(fresh, rebuilt, tmp_path / "c")
    b, c = _weights(tmp_path / "b/final.safetensors"), _weights(tmp_path / "c/final.safetensors")
    assert all(torch.equal(b[k], c[k]) for k in c)
    assert len(history) == 2 and load(tmp_path / "b/final.safetensors")[2] == rebuilt[2]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, store, monkeypatch):
    job = make_job(tmp_path, "nan", epochs=3)
    original = loop_module._Loop._forward

    def poisoned(self, model, batch, seed):
        out = original(self, model, batch, seed)
        if model.training:
            calls.append(1)
            if len(calls) > 8:  # 4 steps x 2 micro-batches per epoch: poison epoch 2
                out.loss = out.loss * float("nan")
        return out

    calls = []
    monkeypatch.setattr(loop_module._Loop, "_forward", poisoned)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 1.*Lower pretrain\.lr"):
        _train(job, store, tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["ckpt_epoch1.safetensors", "history.csv"]
    assert load(out / "ckpt_epoch1.safetensors")[3]["epoch"] == 1
    saved = torch.load(tmp_path / "state" / "state.pt", weights_only=True)
    assert saved["progress"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in saved["model"].values())


def test_chunk_state_past_the_epoch_length_is_refused(tmp_path, store):
    # another process or worker count can shorten a chunks epoch below the saved position
    job = make_job(tmp_path, "relayout", loader="chunks")
    model = build_model(ModelConfig.from_dict(job.model))
    opt = torch.optim.AdamW(param_groups(model, 0.05))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    fingerprint = job.fingerprint(data=store_identity(store[0], store[2]))
    StateDir(job.settings["state_dir"]).save(fingerprint, Progress(0, 99), model, opt, sched)
    with pytest.raises(ConfigError, match=r"step 99 of epoch 1.*process and worker counts"):
        _train(job, store, tmp_path / "out")


def test_state_from_another_architecture_is_refused(tmp_path):
    state = StateDir(tmp_path)
    small = build_model(ModelConfig.from_dict(make_job(tmp_path).model))
    opt = torch.optim.AdamW(small.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    state.save("fp", Progress(), small, opt, sched)
    wide = build_model(ModelConfig.from_dict({**make_job(tmp_path).model, "dim": 32}))
    wide_opt = torch.optim.AdamW(wide.parameters())
    with pytest.raises(InputError, match=r"does not fit this model.*delete"):
        state.restore(state.load("fp"), wide, wide_opt, sched)
    assert state.load("other config") is None  # another configuration starts afresh


def test_corrupt_state_is_refused(tmp_path):
    (tmp_path / "state.pt").write_bytes(b"not a torch file")
    with pytest.raises(InputError, match=r"state\.pt.*delete it"):
        StateDir(tmp_path).load("fp")


def test_a_flipped_byte_in_the_saved_state_is_refused(tmp_path):
    # torch.load ignores the zip CRCs: the damaged weights would be resumed silently
    state = StateDir(tmp_path)
    model = build_model(ModelConfig.from_dict(make_job(tmp_path).model))
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    state.save("fp", Progress(), model, opt, sched)
    data = bytearray(state.state.read_bytes())
    data[len(data) // 2] ^= 0x10
    state.state.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"state\.pt: training state unreadable \(checksum"):
        state.load("fp")
