"""Faults of the job rather than its inputs: killed mid-write (SIGKILL, SIGTERM), a full
disk, a read-only output folder. Each runs ``csmoe`` as its own process."""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys

import pytest
from inject import BOUND_S, Outcome, assert_refused, env_with_src, temporaries, wait_for
from jobs import pretrain_args

from csmoe import tracking
from csmoe.cli import main

# the child stalls in every checkpoint rename, so that the signal lands mid-write
STALLED = """
import os, sys, time
real = os.replace
def stalled(src, dst):
    if str(dst).endswith(".safetensors"):
        time.sleep(60)
    return real(src, dst)
os.replace = stalled
from csmoe.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _statuses(variant):
    client = tracking._client(tracking.store_uri())
    exp = client.get_experiment_by_name("csmoe/pretrain")
    runs = client.search_runs([exp.experiment_id], f"attributes.run_name = '{variant}'")
    return sorted(r.info.status for r in runs)


def _stalled_child(argv, state):
    """Start the job; return it once it is inside its first checkpoint write."""
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED, *argv],
        env=env_with_src(),
        stderr=subprocess.PIPE,
        text=True,
    )
    if not wait_for(lambda: temporaries(state), timeout=120):
        child.kill()
        pytest.fail(f"no checkpoint write seen: {child.communicate()[1][-2000:]}")
    return child


def test_sigkill_mid_write_leaves_nothing_once_rerun(patch_store, tmp_path):
    out, state = tmp_path / "out", tmp_path / "state"
    argv = pretrain_args(*patch_store, out, state, variant="sigkill", epochs=1)
    child = _stalled_child(argv, state)
    child.kill()
    child.communicate()
    assert temporaries(state) and _statuses("sigkill") == ["RUNNING"]
    assert main(argv) == 0  # the rerun (Snakemake's, or a person's)
    assert not temporaries(tmp_path)
    assert (out / "final.safetensors").stat().st_mode & 0o777 == 0o644
    assert _statuses("sigkill") == ["FINISHED", "KILLED"]


def test_sigterm_mid_write_unwinds(patch_store, tmp_path):
    out, state = tmp_path / "out", tmp_path / "state"
    argv = pretrain_args(*patch_store, out, state, variant="sigterm", epochs=1)
    child = _stalled_child(argv, state)
    child.send_signal(signal.SIGTERM)
    try:
        _, stderr = child.communicate(timeout=BOUND_S)
    finally:
        child.kill()
    assert child.returncode == 128 + signal.SIGTERM
    assert stderr.strip().splitlines()[-1] == "csmoe: error: terminated (SIGTERM)"
    assert _statuses("sigterm") == ["KILLED"] and not temporaries(tmp_path)


def _namespace_ready() -> bool:
    """Whether a small file system can be mounted in a user + mount namespace (util-linux
    unshare, with unprivileged user namespaces or as root)."""
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _namespace_ready(), reason="needs unshare -rm (user namespaces)")
@pytest.mark.parametrize(
    ("mount", "words"),
    [
        ("size=64k", "state/ckpt/ckpt_epoch1.safetensors: cannot write (no space left on device"),
        ("ro", ": cannot write (Read-only file system)"),
    ],
    ids=["disk full", "read-only"],
)
def test_unwritable_outputs_are_one_line(patch_store, tmp_path, mount, words):
    disk = tmp_path / "disk"
    disk.mkdir()
    argv = pretrain_args(*patch_store, disk / "out", disk / "state", variant="disk", epochs=1)
    job = shlex.join([sys.executable, "-m", "csmoe.cli", *argv])
    # the file system lives as long as the namespace: list what is left before leaving it
    script = f"mount -t tmpfs -o {mount} tmpfs {disk} && "
    script += f"{{ {job}; echo status=$?; ls -aR {disk}; }}"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        env=env_with_src(),
        capture_output=True,
        text=True,
        timeout=BOUND_S * 2,
        check=False,
    )
    status, left = done.stdout.split("status=")[1].split("\n", 1)
    assert_refused(Outcome(int(status), done.stderr, 0.0), disk, words)
    assert ".tmp" not in left and ".safetensors" not in left, left
