"""Shared fixtures. Every test logs into its own throw-away MLflow store."""

from __future__ import annotations

import pytest

from csmoe import tracking


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path, monkeypatch):
    monkeypatch.setenv(tracking.URI_ENV, f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv(tracking.ARTIFACTS_ENV, str(tmp_path / "mlartifacts"))
