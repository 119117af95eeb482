"""Downloads of the real archives (paper.yaml): resumable, retried, checksum-verified.

- :func:`fetch` gets one file: bytes go to ``<name>.part``; an interrupted transfer resumes
  from the ``.part`` size with an HTTP ``Range`` request; failures are retried with
  exponential backoff (a bounded number of times); the checksum (md5 or sha256, where the
  publisher gives one) is verified before the ``.part`` is renamed onto the final name, so a
  final name only ever holds a complete, verified file.
- :class:`RangeFile` is a seekable read-only file over HTTP range requests. Major TOM Core
  stores each tile as one row of large parquet files with small row groups, and a sample
  keeps ~1 % of the archive's tiles spread over all files; fetching whole files would mean
  downloading nearly the whole archive (tens of TB) to keep a few hundred GB. So
  :func:`csmoe.downloads.sets.majortom` reads each file's footer and then only the row
  groups that hold the selected cells (:func:`read_row_groups`: pyarrow over
  :class:`RangeFile`): bytes moved ≈ bytes kept.
- :func:`extract` unpacks zip and tar(.gz/.zst) archives into a folder atomically, refusing
  members that would land outside it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from http.client import HTTPException
from pathlib import Path
from typing import Any

from csmoe.errors import CsmoeError, InputError
from csmoe.io import atomic_path
from csmoe.log import get_logger

log = get_logger(__name__)

CHUNK = 1 << 20
USER_AGENT = "csmoe-downloader/0.1"
# transient failures: retried. Anything else (404, checksum mismatch) fails at once.
_TRANSIENT = (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError, OSError)


class DownloadError(CsmoeError):
    """A download failed for good (after retries), or its content is not what was promised."""


def _open(url: str, *, start: int = 0, end: int | None = None, timeout_s: float = 60.0) -> Any:
    headers = {"User-Agent": USER_AGENT}
    if start or end is not None:
        headers["Range"] = f"bytes={start}-{'' if end is None else end}"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)


def _retrying(what: str, fn: Callable[[], Any], retries: int, backoff_s: float) -> Any:
    """Run ``fn``; on a transient error wait ``backoff_s · 2^k`` and try again (bounded)."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except urllib.error.HTTPError as err:
            if err.code < 500 and err.code != 429:  # client errors will not heal
                raise DownloadError(f"{what}: HTTP {err.code} {err.reason}") from err
            failure: Exception = err
        except _TRANSIENT as err:
            failure = err
        if attempt == retries:
            raise DownloadError(f"{what}: failed after {retries + 1} attempts: {failure}")
        wait = backoff_s * 2**attempt
        log.warning("%s: %s; retry %d/%d in %.1fs", what, failure, attempt + 1, retries, wait)
        time.sleep(wait)
    raise AssertionError("unreachable")


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _checksum(spec: dict[str, Any]) -> tuple[str, str] | None:
    for algorithm in ("sha256", "md5"):
        if spec.get(algorithm):
            return algorithm, str(spec[algorithm]).lower().removeprefix(f"{algorithm}:")
    return None


def fetch(
    url: str,
    dest: str | Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    retries: int = 5,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` (resuming a previous ``.part``); return ``dest``."""
    dest = Path(dest)
    check = _checksum({"md5": md5, "sha256": sha256})
    if dest.exists() and (check is None or file_digest(dest, check[0]) == check[1]):
        log.info("%s present%s", dest, " and verified" if check else "")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")

    def transfer() -> None:
        offset = part.stat().st_size if part.exists() else 0
        try:
            response = _open(url, start=offset, timeout_s=timeout_s)
        except urllib.error.HTTPError as err:
            if err.code != 416 or not offset:
                raise
            # nothing past our offset: complete if the server's size is ours, else start over
            total = (err.headers.get("Content-Range") or "").rpartition("/")[2]
            if total.isdigit() and int(total) == offset:
                return
            part.unlink()
            raise ConnectionError(f".part ({offset} bytes) does not match the remote file") from err
        with response:
            resumed = response.status == 206
            if offset and not resumed:
                log.info("%s: server ignored the range request, starting over", url)
            total = response.headers.get("Content-Length")
            expected = (offset if resumed else 0) + int(total) if total else None
            with open(part, "ab" if resumed else "wb") as out:
                while block := response.read(CHUNK):
                    out.write(block)
        size = part.stat().st_size
        if expected is not None and size < expected:
            raise ConnectionError(f"connection dropped at {size} of {expected} bytes")

    _retrying(f"GET {url}", transfer, retries, backoff_s)
    if check is not None:
        got = file_digest(part, check[0])
        if got != check[1]:
            part.unlink()  # corrupt: never resume from it, never rename it
            raise DownloadError(f"{url}: {check[0]} mismatch (got {got}, expected {check[1]})")
    os.replace(part, dest)
    log.info("downloaded %s (%d bytes)", dest, dest.stat().st_size)
    return dest


class RangeFile:
    """Read-only, seekable file over HTTP range requests (for pyarrow's ParquetFile)."""

    def __init__(self, url: str, *, retries: int = 5, backoff_s: float = 2.0) -> None:
        self.url, self.retries, self.backoff_s = url, retries, backoff_s
        self.pos = 0
        self.bytes_read = 0
        self.closed = False

        def head() -> int:
            request = urllib.request.Request(url, method="HEAD",
                                             headers={"User-Agent": USER_AGENT})  # fmt: skip
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.headers["Content-Length"])

        self.size = _retrying(f"HEAD {url}", head, retries, backoff_s)

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, min(self.size, base + offset))
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""

        def get() -> bytes:
            with _open(self.url, start=self.pos, end=end - 1) as response:
                data = response.read()
            if len(data) != end - self.pos:
                raise ConnectionError(f"short read: {len(data)} of {end - self.pos} bytes")
            return data

        data = _retrying(f"GET {self.url} [{self.pos}:{end}]", get, self.retries, self.backoff_s)
        self.pos = end
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self.closed = True


def read_row_groups(url: str, groups: Iterable[int], **retry: Any) -> tuple[Any, int]:
    """Row groups ``groups`` of the remote parquet file ``url`` as one pyarrow Table (in the
    order given) and the bytes fetched: the footer plus those row groups.

    Major TOM's ``parquet_row`` is the index of the row group holding one product (each row
    group is one row), so a tile is fetched alone.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    remote = RangeFile(url, **retry)
    parquet = pq.ParquetFile(pa.PythonFile(remote, mode="r"))
    tables = []
    for group in groups:
        if not 0 <= group < parquet.num_row_groups:
            raise InputError(url, f"parquet_row {group} outside 0..{parquet.num_row_groups - 1}")
        table = parquet.read_row_group(group)
        if table.num_rows != 1:
            raise InputError(url, f"row group {group} holds {table.num_rows} rows, expected 1")
        tables.append(table)
    return pa.concat_tables(tables), remote.bytes_read


# ---- archives ----------------------------------------------------------------------------


def extract(archive: str | Path, dest: str | Path, *, strip_single_dir: str | None = None) -> Path:
    """Unpack ``archive`` (zip, tar, tar.gz, tar.zst) into ``dest`` atomically.

    With ``strip_single_dir``, an archive whose only top-level entry is that folder has it
    stripped (GEO-Bench zips hold ``m-eurosat/...``; extracted into ``.../m-eurosat``).
    """
    archive, dest = Path(archive), Path(dest)
    with atomic_path(dest, is_dir=True) as tmp:
        name = archive.name
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    _inside(tmp, member, archive)
                zf.extractall(tmp)
        elif name.endswith(".tar.zst"):
            command = ["tar", "--zstd", "-tf", str(archive)]
            listing = subprocess.run(command, check=True, capture_output=True, text=True)
            for member in listing.stdout.splitlines():
                _inside(tmp, member, archive)
            subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(tmp)], check=True)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")  # refuses links/paths leaving tmp
        else:
            raise InputError(archive, "not a zip or tar archive")
        entries = list(tmp.iterdir())
        if strip_single_dir and len(entries) == 1 and entries[0].name == strip_single_dir:
            for child in entries[0].iterdir():
                shutil.move(str(child), tmp / child.name)
            entries[0].rmdir()
    return dest


def _inside(root: Path, member: str, archive: Path) -> None:
    target = (root / member).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InputError(archive, f"member {member!r} would extract outside the target folder")
