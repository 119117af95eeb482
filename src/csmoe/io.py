"""Atomic output helpers: nothing half-written ever sits under a final name.

A temporary is a hidden sibling of its final name that says which process made it
(``.{name}.{pid}@{host}.{random}.tmp``), so the temporaries a killed process left behind are
recognised and removed the next time anything is written in that folder. A write that fails
because the disk is full or the folder is read-only or forbidden is an :class:`OutputError`
naming the output.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from csmoe.errors import CsmoeError, OutputError, brief
from csmoe.log import get_logger

log = get_logger(__name__)

# errors that mean "this output cannot be written here", whatever the writer
WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
)
# below this much free space a failed write is put down to a full disk: writers such as
# torch.save report ENOSPC as an anonymous stream error
_FULL_BYTES = 1 << 20
_SWEPT: set[tuple[int, str]] = set()
_TEMP = re.compile(r"^\..+\.(\d+)@(.+)\.[A-Za-z0-9_]+\.tmp$")


@contextmanager
def atomic_path(final: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``final``; rename it onto ``final`` only on success.

    The temporary lives in the same folder so the rename is atomic on POSIX file systems.
    On any exception the temporary is removed and ``final`` is left as it was. A folder
    replaces an earlier one by two renames (old aside, new in), never by deleting in place.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _sweep_once(final.parent)
        tmp = _make_temp(final, is_dir)
    except OSError as err:
        problem = _write_problem(err, None, disk_full=False)  # all of it is about the output
        if problem is None:
            raise
        raise OutputError(final, problem) from err
    try:
        yield tmp
        # mkstemp/mkdtemp create private (0600/0700) entries, and writers that replace the
        # file (safetensors) create it private too: outputs get the usual umask modes
        os.chmod(tmp, (0o777 if is_dir else 0o666) & ~_umask())
        if is_dir and final.exists():
            old = _make_temp(final, is_dir=True, tag="old")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException as err:
        full = isinstance(err, Exception) and _disk_full(final.parent)
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(err, Exception) and not isinstance(err, CsmoeError):
            problem = _write_problem(err, (tmp, final), full)
            if problem is not None:
                raise OutputError(final, problem) from err
        raise


def check_writable(folder: str | os.PathLike) -> None:
    """Refuse an output folder that cannot be written now, rather than at the first write
    (after hours of training): an unnamed file is made and dropped in it, or in its nearest
    existing parent if it does not exist yet (which is left as it was)."""
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        problem = _write_problem(err, None, disk_full=False)
        if problem is None:
            raise
        raise OutputError(existing, problem) from err


def _make_temp(final: Path, is_dir: bool, tag: str = "") -> Path:
    prefix = f".{final.name}.{tag + '.' if tag else ''}{os.getpid()}@{socket.gethostname()}."
    if is_dir:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=final.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


def _sweep_once(folder: Path) -> None:
    # once per folder and process: a folder receiving many files is not listed for each
    key = (os.getpid(), str(folder.resolve()))
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_stale_temporaries(folder)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporaries in ``folder`` left by dead processes of this machine; return them.

    Only entries named by :func:`atomic_path` whose process no longer exists on this host are
    touched: a live writer's temporary, or one made on another node of a shared file system,
    is left alone.
    """
    host, removed = socket.gethostname(), []
    for entry in os.scandir(folder):
        match = _TEMP.match(entry.name)
        if match is None or match.group(2) != host or process_alive(int(match.group(1))):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("removed %d temporaries of killed runs in %s", len(removed), folder)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _disk_full(folder: Path) -> bool:
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < _FULL_BYTES


def _write_problem(
    err: BaseException, targets: tuple[Path, ...] | None, disk_full: bool
) -> str | None:
    """Why a write failed, when the cause is the destination (full, read-only, forbidden).

    An OSError naming a file outside ``targets`` (e.g. an input the body could not read)
    is not the output's fault and is left as it is (``None``: any file is the output's).
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in WRITE_ERRNOS:
            if targets is None or seen.filename is None or _within(seen.filename, targets):
                return f"cannot write ({os.strerror(seen.errno)})"
            return None
        seen = seen.__cause__ or seen.__context__
    if disk_full:
        return f"cannot write (no space left on device: {brief(err, 160)})"
    return None


def _within(name: str | bytes | int, targets: tuple[Path, ...]) -> bool:
    if isinstance(name, int):
        return True  # a descriptor the body opened: its own file
    path = Path(os.path.abspath(os.fsdecode(name)))
    roots = [Path(os.path.abspath(t)) for t in targets]
    return any(path == root or root in path.parents for root in roots)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_parquet(path: str | os.PathLike, frame: Any) -> None:
    """Write a pandas DataFrame to parquet atomically, with a CRC per page: a reader passing
    ``page_checksum_verification=True`` then detects flipped bits in the values, which
    otherwise decode silently."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, write_page_checksum=True)


def write_csv(path: str | os.PathLike, frame: Any) -> None:
    """Write a pandas DataFrame to CSV atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(path: str | os.PathLike, fig: Any, **kwargs: Any) -> None:
    """Save a matplotlib figure atomically (format from the final suffix)."""
    final = Path(path)
    kwargs.setdefault("format", final.suffix.lstrip(".") or "png")
    with atomic_path(final) as tmp:
        fig.savefig(tmp, **kwargs)


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays show up in metrics; make them plain JSON
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
