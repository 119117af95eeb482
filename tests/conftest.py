"""Shared fixtures. Every test logs into its own throw-away MLflow store."""

from __future__ import annotations

import pytest

from csmoe import tracking


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path, monkeypatch):
    monkeypatch.setenv(tracking.URI_ENV, f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv(tracking.ARTIFACTS_ENV, str(tmp_path / "mlartifacts"))


def snakemake_config(*configfiles: str) -> dict:
    """The config a run with ``--configfile config/<name> ...`` sees: each file merged onto
    config/config.yaml as Snakemake merges them (recursively), then validated with defaults."""
    import yaml
    from snakemake.utils import update_config

    from csmoe.config import REPO_ROOT, validate_config

    config: dict = {}
    for name in ("config.yaml", *configfiles):
        update_config(config, yaml.safe_load((REPO_ROOT / "config" / name).read_text()))
    return validate_config(config)


@pytest.fixture
def paper_config() -> dict:
    """config/paper.yaml as Snakemake runs it (merged onto config/config.yaml)."""
    return snakemake_config("paper.yaml")


@pytest.fixture(params=["default", "paper", "rehearsal"])
def run_config(request) -> dict:
    """Each config a run uses: the default one, and paper.yaml or rehearsal.yaml merged onto
    it."""
    return snakemake_config(*([] if request.param == "default" else [f"{request.param}.yaml"]))
