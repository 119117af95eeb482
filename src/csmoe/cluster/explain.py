"""Why the SLURM jobs of a failed Snakemake run failed, one line each.

The SLURM executor plugin reports a failed job as "SLURM-job 'N' failed, SLURM status is:
'FAILED'": without accounting (``sacct``) it cannot say more, and a job that SLURM killed for
memory ends FAILED there. The reason is in the job's SLURM log, which the plugin keeps for
failed jobs: slurmstepd writes why it killed a step into it. A job SLURM refused at submission
(a partition that does not exist, more memory than any node has) has no job id and no log:
sbatch's own error, which Snakemake records, says why.

Inputs are the text Snakemake and SLURM write (the run's Snakemake log, the SLURM logs it
names), so the rules stay as they are; tests/cluster checks these formats against a real
cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ERROR = re.compile(r"^Error in rule (?P<rule>\S+):$", re.M)
_JOB_ID = re.compile(r"^\s+external_jobid: (?P<id>\S+)", re.M)
_LOGS = re.compile(r"^\s+log: (?P<logs>.+?) \(check log", re.M)
_STATUS = re.compile(r"SLURM status is: '(?P<status>[A-Z_]+)'")
_SBATCH = re.compile(r"SLURM sbatch failed\. The error message was '(?P<error>.*?)'\.?\n", re.S)
_PARTITION = re.compile(r"invalid partition specified: (?P<name>\S+)")
_MEMORY_KILL = re.compile(r"exceeded memory limit \((?P<used>\d+) > (?P<limit>\d+)\)")
_OOM = re.compile(r"oom[-_ ]kill|Out Of Memory|OUT_OF_MEMORY", re.I)
_CANCELLED = re.compile(r"\*\*\* (?:JOB|STEP) \S+ ON \S+ CANCELLED AT \S+(?P<why>[^*]*)\*\*\*")


@dataclass(frozen=True)
class Failure:
    rule: str
    job_id: str | None  # None: refused at submission
    reason: str
    logs: tuple[str, ...]

    def line(self) -> str:
        job = f"SLURM job {self.job_id}" if self.job_id else "not submitted"
        logs = f"; logs: {', '.join(self.logs)}" if self.logs else ""
        return f"rule {self.rule} ({job}): {self.reason}{logs}"


def explain(snakemake_log: str) -> list[Failure]:
    """Every SLURM failure in the text of a Snakemake log (none for a local run)."""
    failures = []
    starts = list(_ERROR.finditer(snakemake_log))
    ends = [m.start() for m in starts[1:]] + [len(snakemake_log)]
    for start, end in zip(starts, ends, strict=True):
        # a block runs to the next error: sbatch's message may span unindented lines
        rule, body = start["rule"], snakemake_log[start.end() : end]
        if (sbatch := _SBATCH.search(body)) is not None:
            failures.append(Failure(rule, None, _submission_reason(sbatch["error"]), ()))
            continue
        job = _JOB_ID.search(body)
        if job is None:  # not a SLURM job (local rule, local run)
            continue
        logs = _LOGS.search(body)
        paths = tuple(p.strip() for p in logs["logs"].split(",")) if logs else ()
        status = _STATUS.search(body)
        reason = _runtime_reason(status["status"] if status else None, _slurm_log_text(paths))
        failures.append(Failure(rule, job["id"], reason, paths))
    return list(dict.fromkeys(failures))  # a refused job is refused again on every retry


def _submission_reason(error: str) -> str:
    first = error.strip().splitlines()[0] if error.strip() else "no message"
    if (partition := _PARTITION.search(error)) is not None:
        return (
            f"SLURM refused it: partition '{partition['name']}' does not exist (`sinfo -s` "
            "lists this cluster's); set slurm_partition (profile default-resources or "
            "set-resources; pretrain.resources for pretraining)"
        )
    if "Memory specification can not be satisfied" in error:
        return (
            "SLURM refused it: it asks for more memory (mem_mb) than any node of its partition "
            "has (`sinfo -o '%P %m'`); lower mem_mb"
        )
    if "Requested node configuration is not available" in error:
        return (
            "SLURM refused it: no node of its partition has that many CPUs, GPUs or that much "
            "memory (`sinfo -o '%P %c %m %G'`); lower cpus_per_task / threads / gpu"
        )
    return f"SLURM refused it: {first}"


def _slurm_log_text(paths: tuple[str, ...]) -> str:
    """The SLURM log among a failed job's logs (the plugin adds it after the rule's log)."""
    for path in paths:
        if "slurm_logs" in Path(path).parts:
            try:
                return Path(path).read_text(errors="replace")
            except OSError:
                return ""
    return ""


def _runtime_reason(status: str | None, slurm_log: str) -> str:
    if (kill := _MEMORY_KILL.search(slurm_log)) is not None:
        used, limit = int(kill["used"]) / 2**20, int(kill["limit"]) / 2**20
        return (
            f"killed by SLURM for memory: it used {used:.0f} MB of its {limit:.0f} MB "
            "(mem_mb); raise mem_mb"
        )
    if status == "OUT_OF_MEMORY" or _OOM.search(slurm_log):
        return "killed by SLURM for memory (out of memory); raise mem_mb"
    cancelled = _CANCELLED.search(slurm_log)
    why = cancelled["why"].strip() if cancelled else ""
    if status == "TIMEOUT" or "DUE TO TIME LIMIT" in why:
        return (
            "killed by SLURM at its time limit (runtime); pretraining resumes from its saved "
            "state when rerun, others start over: raise runtime or --retries"
        )
    if "NODE FAILURE" in why or status == "NODE_FAIL":
        return "its node failed; rerun (pretraining resumes from its saved state)"
    if cancelled is not None or status == "CANCELLED":
        return "cancelled (scancel, or preempted); rerun to continue"
    if status:
        return f"failed with SLURM state {status}: the command failed, see its log"
    return "failed: see its logs"
