"""The download protocol against a loopback HTTP server: resume after a dropped connection,
checksum errors leave no file, bounded retries, range reads of parquet row groups, archives."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest
from download_fixtures import FAST, majortom_archive

from csmoe.downloads import protocol
from csmoe.errors import InputError


def test_resume_after_dropped_connection(server, tmp_path):
    root, url, handler = server
    payload = np.random.default_rng(0).bytes(3_000_000)
    (root / "big.bin").write_bytes(payload)
    handler.drops["/big.bin"] = 1_000_000
    dest = tmp_path / "out" / "big.bin"
    protocol.fetch(f"{url}/big.bin", dest, sha256=hashlib.sha256(payload).hexdigest(), **FAST)
    assert dest.read_bytes() == payload
    assert not dest.with_name("big.bin.part").exists()
    # the second request resumed where the first was cut instead of starting over
    assert [r for _, r in handler.log] == [None, "bytes=1000000-"]
    # present and verified: no new request
    protocol.fetch(f"{url}/big.bin", dest, sha256=hashlib.sha256(payload).hexdigest(), **FAST)
    assert len(handler.log) == 2


def test_stale_part_larger_than_remote_restarts(server, tmp_path):
    root, url, handler = server
    (root / "f.bin").write_bytes(b"0123456789")
    dest = tmp_path / "f.bin"
    dest.with_name("f.bin.part").write_bytes(b"x" * 20)  # left by a different, larger file
    protocol.fetch(f"{url}/f.bin", dest, **FAST)
    assert dest.read_bytes() == b"0123456789"
    assert [r for _, r in handler.log] == ["bytes=20-", None]


def test_corrupt_file_leaves_nothing(server, tmp_path):
    root, url, _ = server
    (root / "f.bin").write_bytes(b"corrupted content")
    dest = tmp_path / "f.bin"
    with pytest.raises(protocol.DownloadError, match="md5 mismatch"):
        protocol.fetch(f"{url}/f.bin", dest, md5=hashlib.md5(b"good").hexdigest(), **FAST)
    assert list(tmp_path.glob("f.bin*")) == []


def test_missing_file_fails_fast(server, tmp_path):
    _, url, handler = server
    with pytest.raises(protocol.DownloadError, match="HTTP 404"):
        protocol.fetch(f"{url}/nope.bin", tmp_path / "nope.bin", **FAST)
    assert len(handler.log) == 1  # a client error is not retried


def test_retries_are_bounded(tmp_path):
    # nothing listens on this port: every attempt fails, the loop stops by itself
    with pytest.raises(protocol.DownloadError, match="failed after 4 attempts"):
        protocol.fetch("http://127.0.0.1:9/x", tmp_path / "x", **FAST)


def test_range_rows_out_of_bounds(server):
    root, url, _ = server
    majortom_archive(root, ["0U_0R"])
    with pytest.raises(InputError, match=r"part_00000\.parquet: parquet_row 5 outside"):
        protocol.read_row_groups(f"{url}/S2L2A/images/part_00000.parquet", [5], **FAST)


def test_zip_slip_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(InputError, match="outside the target"):
        protocol.extract(evil, tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "dest").exists()
