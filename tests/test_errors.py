from __future__ import annotations

import multiprocessing
import pickle

import pytest

from csmoe.errors import InputError, OutputError


@pytest.mark.parametrize("kind", [InputError, OutputError])
def test_path_errors_survive_pickling(kind):
    err = kind("a/b.parquet", "truncated")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is kind and str(back) == "a/b.parquet: truncated"
    assert (back.path, back.problem) == ("a/b.parquet", "truncated")


def _fail(i: int) -> int:
    if i == 3:
        raise InputError(f"part_{i}.parquet", "row index out of range")
    return i


def test_an_input_error_in_a_worker_reaches_the_parent():
    # an error that cannot be unpickled kills the pool's result thread: the parent then
    # waits forever; the timeout turns such a hang into a failure
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.imap(_fail, range(6))
        with pytest.raises(InputError, match=r"part_3\.parquet: row index"):
            for _ in range(6):
                results.next(timeout=30)
