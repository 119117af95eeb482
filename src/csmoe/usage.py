"""What a ``csmoe`` command cost: wall time, CPU time and peak memory, logged as its last line.

Every rule's log thus records its job's footprint, locally and under SLURM (where, without
accounting, nothing else does): ``bench/rehearsal.py`` collects these lines into the
per-rule table of bench/README.md.
"""

from __future__ import annotations

import re
import resource
import time
from dataclasses import dataclass

PREFIX = "csmoe usage:"
_LINE = re.compile(
    re.escape(PREFIX)
    + r" wall (?P<wall>[\d.]+) s, cpu (?P<cpu>[\d.]+) s, max rss (?P<rss>[\d.]+) MB"
)


@dataclass(frozen=True)
class Usage:
    wall_s: float
    cpu_s: float  # user + system, this process and every descendant it waited for
    max_rss_mb: float  # the largest single process (the command itself or one descendant)

    def line(self) -> str:
        return (
            f"{PREFIX} wall {self.wall_s:.1f} s, cpu {self.cpu_s:.1f} s, "
            f"max rss {self.max_rss_mb:.0f} MB"
        )


def measure(started: float) -> Usage:
    """The usage since ``started`` (a ``time.monotonic()`` value) of this process and of the
    children it has waited for (``accelerate launch`` workers, decode pools, ...)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    rss_kb = max(own.ru_maxrss, kids.ru_maxrss)  # Linux reports kilobytes
    return Usage(time.monotonic() - started, cpu, rss_kb / 1024)


def parse(text: str) -> Usage | None:
    """The last usage line in a log, if any."""
    found = list(_LINE.finditer(text))
    if not found:
        return None
    last = found[-1]
    return Usage(float(last["wall"]), float(last["cpu"]), float(last["rss"]))
