"""Starting the training processes: `accelerate launch` on one machine, `srun` across several,
and a file-lock lease so that parallel local jobs never share a GPU.

The command lines are built by pure functions so they can be tested without GPUs or SLURM.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from csmoe.errors import ConfigError
from csmoe.log import get_logger

log = get_logger(__name__)

CHILD_ENV = "CSMOE_PRETRAIN_CHILD"  # set in the processes accelerate starts: train, don't launch
GPU_LOCK_ENV = "CSMOE_GPU_LOCK_DIR"
# multi-machine rendezvous ports: PORT_BASE + job id % PORT_SPAN (below the ephemeral range)
PORT_BASE, PORT_SPAN = 20000, 10000


def free_port() -> int:
    """A free TCP port for the rendezvous: two local jobs must not both take 29500."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_command(
    child_args: Sequence[str],
    *,
    num_processes: int,
    mixed_precision: str,
    port: int,
    num_machines: int = 1,
    machine_rank: int = 0,
    main_ip: str | None = None,
) -> list[str]:
    """``accelerate launch`` running ``python -m csmoe.cli <child_args>``.

    ``num_processes`` counts all processes of all machines. Several processes use torchrun
    (``--multi_gpu``) even on CPU, where the child's ``Accelerator(cpu=True)`` picks gloo:
    Accelerate's own ``--cpu`` launcher starts a single process unless MPI is set up.
    """
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if num_processes > 1:
        cmd.append("--multi_gpu")
    cmd += [
        f"--num_processes={num_processes}",
        f"--num_machines={num_machines}",
        f"--mixed_precision={mixed_precision}",
        "--dynamo_backend=no",
        f"--main_process_port={port}",
    ]
    if num_machines > 1:
        if main_ip is None:
            raise ConfigError("a multi-machine launch needs the main node's address")
        cmd += [f"--machine_rank={machine_rank}", f"--main_process_ip={main_ip}"]
    return [*cmd, "-m", "csmoe.cli", *child_args]


def machine_command(
    env: Mapping[str, str],
    child_args: Sequence[str],
    *,
    processes_per_machine: int,
    machines: int,
    main_ip: str,
    cpu: bool,
) -> list[str]:
    """The command one machine rank runs: ``accelerate launch`` for its share of the
    processes, ranked by ``SLURM_PROCID`` among the ``SLURM_NTASKS`` tasks of the srun step
    (one task per node on a cluster; two tasks of one node work the same way).

    The rendezvous port is ``CSMOE_MAIN_PORT`` if set, else derived from the job id, so
    that two jobs whose first node is the same machine do not both take one port.
    """
    try:
        tasks = int(env["SLURM_NTASKS"])
        rank = int(env["SLURM_PROCID"])
    except KeyError as err:
        raise ConfigError(f"multi-node training must run under srun ({err.args[0]} unset)") from err
    if tasks != machines:
        raise ConfigError(
            f"pretrain.nodes = {machines} but this srun step has {tasks} task(s); "
            "start one task per machine rank"
        )
    port = env.get("CSMOE_MAIN_PORT") or PORT_BASE + int(env.get("SLURM_JOB_ID", 0)) % PORT_SPAN
    return launch_command(
        child_args,
        num_processes=machines * processes_per_machine,
        mixed_precision="no" if cpu else "bf16",
        port=int(port),
        num_machines=machines,
        machine_rank=rank,
        main_ip=main_ip,
    )


def srun_command(machines: int, allocated_nodes: int, csmoe_args: Sequence[str]) -> list[str]:
    """Start one ``csmoe`` task per machine rank inside the job's allocation, spread evenly
    over its nodes (one per node when there are as many nodes as ranks)."""
    per_node = -(-machines // allocated_nodes)
    return [
        "srun",
        f"--nodes={allocated_nodes}",
        f"--ntasks={machines}",
        f"--ntasks-per-node={per_node}",
        "--kill-on-bad-exit=1",
        sys.executable,
        "-m",
        "csmoe.cli",
        *csmoe_args,
    ]


def run_child(cmd: Sequence[str], env: Mapping[str, str], grace_s: float = 60) -> int:
    """Run the launch command and return its exit status. Interrupted (Ctrl-C, or SIGTERM
    from Snakemake or SLURM), pass SIGTERM on and give the training processes ``grace_s`` to
    unwind (temporaries removed, MLflow run marked KILLED) before killing them."""
    with subprocess.Popen(list(cmd), env=dict(env)) as child:
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                child.kill()
            raise


def check_devices(num_processes: int, cpu: bool, available_gpus: int) -> None:
    """Refuse a config that asks for more GPU processes than this machine has."""
    if num_processes < 1:
        raise ConfigError(f"need at least one process, got {num_processes}")
    if not cpu and num_processes > available_gpus:
        raise ConfigError(
            f"pretrain asks for {num_processes} GPU process(es) but {available_gpus} GPU(s) "
            "are visible; lower pretrain.gpus, or set pretrain.gpus: 0 (with "
            "pretrain.cpu_processes) to train on CPU"
        )


@contextlib.contextmanager
def lease_gpus(
    count: int, total: int, lock_dir: str | os.PathLike | None = None, wait_s: float = 600
) -> Iterator[str | None]:
    """Hold exclusive locks on ``count`` of the machine's ``total`` GPUs for the job's life and
    yield their ``CUDA_VISIBLE_DEVICES`` value (``None``: leave the environment as it is).

    Snakemake's global ``gpu`` resource caps how many GPUs parallel jobs use in total, but not
    *which*; without this every job would pick GPU 0. A GPU set already restricted by
    ``CUDA_VISIBLE_DEVICES`` (SLURM, or the user) is taken as given. All or nothing, so two
    jobs never each hold half of what they need.
    """
    if count == 0 or os.environ.get("CUDA_VISIBLE_DEVICES"):
        yield None
        return
    folder = Path(lock_dir or os.environ.get(GPU_LOCK_ENV, "/tmp/csmoe-gpu-locks"))
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        held = _try_locks(folder, count, total)
        if len(held) == count:
            break
        for _, handle in held:
            handle.close()
        if time.monotonic() > deadline:
            raise ConfigError(
                f"could not lease {count} of {total} GPUs within {wait_s:.0f}s (locks in "
                f"{folder}); is the profile's gpu resource above the machine's GPU count?"
            )
        log.info("waiting for %d free GPU(s)", count)
        time.sleep(min(5.0, wait_s))
    try:
        yield ",".join(str(gpu) for gpu, _ in held)
    finally:
        for _, handle in held:
            handle.close()  # closing the file releases its lock


def _try_locks(folder: Path, count: int, total: int) -> list[tuple[int, IO[str]]]:
    held: list[tuple[int, IO[str]]] = []
    for gpu in range(total):
        if len(held) == count:
            break
        handle = open(folder / f"gpu{gpu}.lock", "a")  # noqa: SIM115 - held for the job
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        held.append((gpu, handle))
    return held
