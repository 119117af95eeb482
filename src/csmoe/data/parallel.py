"""Ordered parallel map for the data stage's per-tile work (render, decode)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def imap_ordered(
    fn: Callable[[T], R], items: Iterable[T], workers: int, chunksize: int = 4
) -> Iterator[R]:
    """``map(fn, items)`` in ``workers`` forked processes (0: in this one), results in input
    order so that outputs do not depend on the worker count. ``fn`` must be a module-level
    function and its results picklable. Fork keeps the loaded modules (cheap start); a
    chunksize above 1 amortises the pickling of small items."""
    if workers <= 0:
        yield from map(fn, items)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(fn, items, chunksize)
