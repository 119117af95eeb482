"""Inputs of the fault suite made once per session (copy them before damaging)."""

from __future__ import annotations

import pytest
from jobs import make_store, pretrain_args


@pytest.fixture(scope="session")
def mlflow_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(autouse=True)
def _shared_mlflow(mlflow_dir, monkeypatch):
    # one MLflow store for the suite: creating one costs seconds, and nearly every case
    # opens a run; cases that look at runs tell them apart by name
    from csmoe import tracking

    monkeypatch.setenv(tracking.URI_ENV, f"sqlite:///{mlflow_dir / 'mlflow.db'}")
    monkeypatch.setenv(tracking.ARTIFACTS_ENV, str(mlflow_dir / "artifacts"))


@pytest.fixture(scope="session")
def patch_store(tmp_path_factory):
    """``(store.zarr, stats.json)`` of a small store."""
    return make_store(tmp_path_factory.mktemp("patches"), tiles=2)


@pytest.fixture(scope="session")
def trained(patch_store, tmp_path_factory):
    """A finished short pretraining: ``{"out": outputs, "state": state folder}``."""
    import torch

    from csmoe.cli import main

    root = tmp_path_factory.mktemp("trained")
    paths = {"out": root / "out", "state": root / "state"}
    threads = torch.get_num_threads()  # pretraining sets pretrain.threads for the process
    try:
        assert main(pretrain_args(*patch_store, paths["out"], paths["state"])) == 0
    finally:
        torch.set_num_threads(threads)
    return paths
