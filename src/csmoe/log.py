"""Logging and progress reporting for long stages."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    """Configure root logging once (stderr, timestamps); Snakemake captures it in the log."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        root.addHandler(handler)
    root.setLevel(level)
    # MLflow and alembic are chatty at INFO; keep the log about our work
    for noisy in ("alembic", "mlflow", "urllib3", "matplotlib", "rasterio", "numexpr"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def progress(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    every_s: float = 10.0,
    logger: logging.Logger | None = None,
) -> Iterator[T]:
    """Yield ``items`` and log done/total, rate and ETA at most every ``every_s`` seconds."""
    log = logger or logging.getLogger("csmoe.progress")
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    start = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= every_s:
            last = now
            rate = done / (now - start)
            if total:
                eta = (total - done) / rate if rate > 0 else float("inf")
                log.info("%s %d/%d (%.1f/s, eta %.0fs)", desc, done, total, rate, eta)
            else:
                log.info("%s %d (%.1f/s)", desc, done, rate)
    log.info("%s done: %d in %.1fs", desc, done, time.monotonic() - start)
