from __future__ import annotations

import os

import pandas as pd
import pytest

from csmoe.io import atomic_path, write_json, write_parquet


def test_atomic_file_replaces_only_on_success(tmp_path):
    final = tmp_path / "out.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert final.read_text() == "old"
    assert list(tmp_path.iterdir()) == [final]  # no temporary left behind
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new"


def test_atomic_dir(tmp_path):
    final = tmp_path / "store"
    with pytest.raises(ValueError), atomic_path(final, is_dir=True) as tmp:
        (tmp / "a").write_text("x")
        raise ValueError
    assert not final.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(final, is_dir=True) as tmp:
        (tmp / "a").write_text("x")
    assert (final / "a").read_text() == "x"


def test_writers_roundtrip(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    assert (tmp_path / "a.json").read_text().strip().startswith("{")
    frame = pd.DataFrame({"a": [1, 2]})
    write_parquet(tmp_path / "a.parquet", frame)
    assert pd.read_parquet(tmp_path / "a.parquet").equals(frame)


def test_outputs_get_umask_modes_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_path(tmp_path / "d", is_dir=True) as tmp:
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
