"""Fault injection for the fault suite: damage a file in one of the ways real files get
damaged, and check what the pipeline does about it.

Ways (``CORRUPTIONS``): ``truncated`` (a write cut short: the first part of the file only),
``flipped`` (bit errors inside the file), ``empty`` (a zero-byte file). Wrong types and
shapes are written per format by the tests themselves.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CORRUPTIONS = ("truncated", "flipped", "empty")
BOUND_S = 60.0  # a refused input must fail well within this; more means a hang


def truncate(path: Path, keep: float = 0.5) -> None:
    """Keep the first ``keep`` of the file (a copy or a download cut short)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def flip(path: Path, at: float = 0.5, n: int = 64, seed: int = 0) -> None:
    """Flip one bit in each of ``n`` bytes from ``at`` of the file on (a damaged sector)."""
    import numpy as np

    data = bytearray(path.read_bytes())
    start = min(int(len(data) * at), max(len(data) - n, 0))
    bits = np.random.default_rng(seed).integers(0, 8, n)
    for i, bit in zip(range(start, min(start + n, len(data))), bits, strict=False):
        data[i] ^= 1 << int(bit)
    path.write_bytes(bytes(data))


def flip_in_column(path: Path, column: str) -> None:
    """Flip one bit among the values of a parquet column (first row group): near the end of
    its dictionary page (or of its only page), past the page header, so the file decodes."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(0).column(meta.schema.names.index(column))
    if chunk.dictionary_page_offset:
        end = chunk.data_page_offset
    else:
        end = chunk.data_page_offset + chunk.total_compressed_size
    data = bytearray(path.read_bytes())
    data[end - 5] ^= 0x04
    path.write_bytes(bytes(data))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def corrupt(path: Path, how: str, **kwargs: float) -> None:
    """Damage ``path`` in the way ``how`` (one of :data:`CORRUPTIONS`)."""
    {"truncated": truncate, "flipped": flip, "empty": empty}[how](path, **kwargs)


@dataclass
class Outcome:
    status: int
    stderr: str
    seconds: float

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def assert_refused(outcome: Outcome, path: object, *words: str) -> None:
    """Non-zero exit within the bound, the error as one line naming ``path`` and the
    problem (``words``), and no traceback."""
    assert outcome.status != 0, outcome.stderr[-2000:]
    assert outcome.seconds < BOUND_S
    assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
    line = outcome.last_line
    assert line.startswith(f"csmoe: error: {path}"), line
    for word in words:
        assert word in line, line


def snapshot(folder: Path) -> dict[str, str]:
    """Digest of every file under ``folder`` (earlier good outputs must stay as they were)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def temporaries(folder: Path) -> list[Path]:
    """Hidden temporaries (``csmoe.io.atomic_path``) anywhere under ``folder``."""
    return [p for p in folder.rglob(".*.tmp")]


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Turn a hang into a test failure (SIGALRM interrupts waits in the main thread)."""

    def fire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds:.0f}s: a hang")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str], capsys: object, bound: float = BOUND_S) -> Outcome:
    """``csmoe <argv>`` in this process (no interpreter start-up per case)."""
    from csmoe.cli import main

    capsys.readouterr()  # type: ignore[attr-defined]
    start = time.monotonic()
    with deadline(bound):
        status = main(argv)
    seconds = time.monotonic() - start
    return Outcome(status, capsys.readouterr().err, seconds)  # type: ignore[attr-defined]


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(every)
    return False


def env_with_src() -> dict[str, str]:
    from csmoe.config import REPO_ROOT

    return {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}
