from __future__ import annotations

import errno
import os

import pandas as pd
import pytest

from csmoe.errors import OutputError
from csmoe.io import atomic_path, check_writable, write_json, write_parquet


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


def test_a_writer_that_replaces_the_file_still_gives_the_umask_mode(tmp_path):
    # safetensors (and others) write a new private file instead of filling the temporary
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "w.bin") as tmp:
            tmp.unlink()
            os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600))
    finally:
        os.umask(old)
    assert (tmp_path / "w.bin").stat().st_mode & 0o777 == 0o644


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_OUT)
    return int(child.stdout)


_OUT = {"capture_output": True, "text": True, "check": True}


def test_temporaries_of_dead_processes_are_removed_on_the_next_write(tmp_path):
    import socket

    host, dead = socket.gethostname(), _dead_pid()
    stale_file = tmp_path / f".a.json.{dead}@{host}.k2j4h1x0.tmp"
    stale_dir = tmp_path / f".store.zarr.{dead}@{host}.abc_1234.tmp"
    live = tmp_path / f".b.json.{os.getpid()}@{host}.q9w8e7r6.tmp"  # a writer still at work
    elsewhere = tmp_path / f".c.json.{dead}@other-node.z1x2c3v4.tmp"  # shared file system
    foreign = tmp_path / ".hidden.tmp"  # not ours
    stale_file.write_text("half")
    (stale_dir / "s2").mkdir(parents=True)
    for path in (live, elsewhere, foreign):
        path.write_text("x")
    write_json(tmp_path / "other.json", {"x": 1})
    assert not stale_file.exists() and not stale_dir.exists()
    assert live.exists() and elsewhere.exists() and foreign.exists()


def test_a_folder_is_replaced_whole_and_nothing_is_left_aside(tmp_path):
    final = tmp_path / "store"
    with atomic_path(final, is_dir=True) as tmp:
        (tmp / "old").write_text("1")
    with atomic_path(final, is_dir=True) as tmp:
        (tmp / "new").write_text("2")
    assert sorted(p.name for p in final.iterdir()) == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["store"]


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only"), (errno.EACCES, "Permission")],
)
def test_an_unwritable_destination_is_one_line_naming_the_output(tmp_path, code, words):
    final = tmp_path / "out.json"
    final.write_text("good")
    fails = pytest.raises(OutputError, match=rf"out\.json: cannot write \({words}")
    with fails as info, atomic_path(final) as tmp:
        raise OSError(code, os.strerror(code), str(tmp))
    assert "\n" not in str(info.value)
    assert final.read_text() == "good" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_an_anonymous_write_failure_on_a_full_disk_names_the_output(tmp_path, monkeypatch):
    # torch.save reports ENOSPC as "unexpected pos ..." with no errno: the free space tells
    full = os.statvfs_result((4096, 4096, 100, 0, 0, 10, 0, 0, 0, 255))
    fails = pytest.raises(OutputError, match=r"state\.pt: cannot write \(no space left.*pos 576")
    with fails, atomic_path(tmp_path / "state.pt"):
        monkeypatch.setattr(os, "statvfs", lambda path: full)
        raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 576")


def test_an_unreadable_input_inside_the_body_is_not_blamed_on_the_output(tmp_path):
    with pytest.raises(PermissionError), atomic_path(tmp_path / "out.json"):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/input.parquet")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=r"ro/x\.json: cannot write \(Permission denied"):
            write_json(folder / "x.json", {})
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_output_folder_is_refused_up_front(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=r"ro: cannot write \(Permission denied"):
            check_writable(folder / "results" / "pretrain")
    finally:
        folder.chmod(0o755)
    check_writable(tmp_path / "new" / "folder")
    assert not (tmp_path / "new").exists()  # a check, nothing made
