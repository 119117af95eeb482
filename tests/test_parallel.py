"""The data stage's worker pool: order kept, every failure surfaced promptly as itself."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from csmoe.errors import InputError
from csmoe.parallel import WorkerLost, imap_ordered

sys.path.insert(0, str(Path(__file__).resolve().parent / "faults"))  # the suite's helpers
from inject import deadline


def _square(i: int) -> int:
    return i * i


def _bad_row(i: int) -> int:
    if i == 5:
        raise InputError("images/part_00001.parquet", f"parquet_row {i} outside 0..3")
    return i


def _killed(i: int) -> int:
    if i == 5:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
    return i


def _items(n: int, fail_at: int | None = None):
    for i in range(n):
        if i == fail_at:
            raise InputError("images/part_00002.parquet", "not a readable parquet file")
        yield i


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_results_come_in_input_order(workers):
    got = imap_ordered(_square, range(23), workers, chunksize=3)
    assert list(got) == [i * i for i in range(23)]


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_an_error_in_a_worker_is_raised_as_itself(workers):
    # with workers = 1 this used to hang forever: the InputError could not be unpickled
    with deadline(60), pytest.raises(InputError, match=r"part_00001\.parquet: parquet_row 5"):
        list(imap_ordered(_bad_row, range(40), workers))


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_an_error_while_producing_items_is_raised_as_itself(workers):
    with deadline(60), pytest.raises(InputError, match=r"part_00002\.parquet: not a readable"):
        list(imap_ordered(_square, _items(40, fail_at=9), workers))


def test_a_worker_that_dies_is_an_error_not_a_hang():
    start = time.monotonic()
    with deadline(60), pytest.raises(WorkerLost, match="worker process died"):
        list(imap_ordered(_killed, range(40), 2))
    assert time.monotonic() - start < 30
