from __future__ import annotations

import subprocess
import sys
import time

from csmoe import usage
from csmoe.cli import main


def test_every_command_logs_its_usage_last(caplog):
    assert main(["grid", "locate", "45", "7"]) == 0
    assert main(["cluster", "explain", "--snakemake-log", "/nonexistent"]) == 2  # failed too
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(usage.PREFIX)]
    assert len(lines) == 2
    got = usage.parse(lines[-1])
    assert got is not None and got.wall_s >= 0 and got.max_rss_mb > 10  # a Python process


def test_usage_counts_the_cpu_and_memory_of_waited_for_children():
    started = time.monotonic()
    # a child that holds ~300 MB and burns CPU: the parent's own numbers stay small
    code = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); sum(range(10**7))"
    subprocess.run([sys.executable, "-c", code], check=True)
    got = usage.measure(started)
    assert got.max_rss_mb > 300 and got.cpu_s > 0.2
    assert usage.parse(f"noise\n{got.line()}\n") == usage.Usage(
        round(got.wall_s, 1), round(got.cpu_s, 1), round(got.max_rss_mb)
    )
    assert usage.parse("no usage here") is None
