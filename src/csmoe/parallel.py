"""Ordered parallel map for per-item work in worker processes (tiles, GA strata).

Every failure surfaces in the caller, promptly and as itself: an exception raised by ``fn``
in a worker is re-raised with its type and message (csmoe errors pickle), one raised while
producing the items is raised directly (the items are produced in the caller), and a worker
that dies (killed, out of memory, crashed in a C library) is a :class:`WorkerLost` error
instead of a wait that never ends (``multiprocessing.Pool`` replaces a dead worker and waits
forever for its task).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from csmoe.errors import CsmoeError

T = TypeVar("T")
R = TypeVar("R")


class WorkerLost(CsmoeError):
    """A worker process ended without returning (signal, out of memory, crash)."""


def imap_ordered(
    fn: Callable[[T], R], items: Iterable[T], workers: int, chunksize: int = 4
) -> Iterator[R]:
    """``map(fn, items)`` in ``workers`` forked processes (0: in this one), results in input
    order so that outputs do not depend on the worker count. ``fn`` must be a module-level
    function (or a partial of one) and its results picklable. Fork keeps the loaded modules
    (cheap start); a chunksize above 1 amortises the pickling of small items. At most two
    chunks per worker are in flight, so a fast producer never piles items up in memory."""
    if workers <= 0:
        yield from map(fn, items)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    pending: deque[Future[list[R]]] = deque()
    source = iter(items)
    try:
        while chunk := list(itertools.islice(source, chunksize)):
            pending.append(pool.submit(_map_chunk, fn, chunk))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    except BrokenProcessPool as err:
        raise WorkerLost(
            f"a worker process died without an error (killed, or out of memory?): {err}; "
            "rerun, with fewer workers if memory is short"
        ) from err
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _map_chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]
