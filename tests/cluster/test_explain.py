# ruff: noqa: E501  (verbatim excerpts of Snakemake and SLURM logs)
"""`csmoe cluster explain` on the texts Snakemake 9 / snakemake-executor-plugin-slurm 2 and
SLURM 22.05 write (excerpts of real runs; tests/cluster/test_profile.py runs the real thing)."""

from __future__ import annotations

from csmoe.cli import main
from csmoe.cluster.explain import explain

REFUSED = """\
[Sun Nov 29 21:19:31 2026]
Error in rule pretrain_tiny:
    message: SLURM sbatch failed. The error message was 'sbatch: error: invalid partition specified: nope
sbatch: error: Batch job submission failed: Invalid partition name specified'.
    sbatch call:
        sbatch --parsable --job-name 1b -p nope -t 5 --mem 2000 --wrap="..."
For further error details see the cluster/cloud log and the log files of the involved rule(s).
    jobid: 0
    log: results/logs/pretrain/tiny.log (check log file(s) for error details)
"""

FAILED = """\
Job 0 has been submitted with SLURM jobid 5 (log: {slurm_log}).
[Sun Nov 29 21:20:17 2026]
Error in rule pretrain_tiny:
    message: SLURM-job '5' failed, SLURM status is: 'FAILED'. Detailed failure reason unavailable (status command is not 'sacct').For further error details see the cluster/cloud log and the log files of the involved rule(s).
    jobid: 0
    input: results/patches/mtom_mu/store.zarr, results/patches/mtom_mu/stats.json
    log: results/logs/pretrain/tiny.log, {slurm_log} (check log file(s) for error details)
        (command exited with non-zero exit code)
    external_jobid: 5
Shutting down, this might take some time.
"""

MEMORY_KILL = """\
slurmstepd-vm: error: StepId=5.0 exceeded memory limit (210558976 > 209715200), being killed
slurmstepd-vm: error: Exceeded job memory limit
srun: Job step aborted: Waiting up to 12 seconds for job step to finish.
slurmstepd-vm: error: *** STEP 5.0 ON vm CANCELLED AT 2026-11-29T21:20:09 ***
"""
TIME_LIMIT = """\
slurmstepd-vm: error: *** JOB 9 ON vm CANCELLED AT 2026-11-29T21:47:02 DUE TO TIME LIMIT ***
slurmstepd-vm: error: *** STEP 9.0 ON vm CANCELLED AT 2026-11-29T21:47:02 DUE TO TIME LIMIT ***
"""
SCANCEL = """\
srun: Job step aborted: Waiting up to 12 seconds for job step to finish.
slurmstepd-vm: error: *** JOB 8 ON vm CANCELLED AT 2026-11-29T21:45:07 ***
srun: error: vm: task 0: Terminated
"""


def _failed(tmp_path, slurm_text, status="FAILED"):
    slurm_log = tmp_path / ".snakemake" / "slurm_logs" / "rule_pretrain_tiny" / "5.log"
    slurm_log.parent.mkdir(parents=True)
    slurm_log.write_text(f"Building DAG of jobs...\n{slurm_text}")
    text = FAILED.format(slurm_log=slurm_log).replace("'FAILED'", f"'{status}'")
    return explain(text), slurm_log


def test_a_memory_kill_is_named_with_the_rule_job_and_logs(tmp_path):
    (failure,), slurm_log = _failed(tmp_path, MEMORY_KILL)
    assert (failure.rule, failure.job_id) == ("pretrain_tiny", "5")
    assert "killed by SLURM for memory: it used 201 MB of its 200 MB" in failure.reason
    assert failure.logs == ("results/logs/pretrain/tiny.log", str(slurm_log))
    assert failure.line().startswith("rule pretrain_tiny (SLURM job 5): killed by SLURM for memory")


def test_time_limit_scancel_and_plain_failures_are_told_apart(tmp_path):
    (timeout,), _ = _failed(tmp_path / "a", TIME_LIMIT, "TIMEOUT")
    assert "time limit (runtime)" in timeout.reason
    (cancelled,), _ = _failed(tmp_path / "b", SCANCEL, "CANCELLED")
    assert cancelled.reason.startswith("cancelled (scancel")
    (plain,), _ = _failed(tmp_path / "c", "Traceback ...\nValueError: boom\n")
    assert plain.reason == "failed with SLURM state FAILED: the command failed, see its log"
    (oom,), _ = _failed(tmp_path / "d", "", "OUT_OF_MEMORY")  # cgroup clusters say so
    assert "for memory" in oom.reason


def test_a_refused_submission_names_the_partition_once(tmp_path):
    failures = explain(REFUSED * 4)  # Snakemake retries it, sbatch refuses it every time
    assert len(failures) == 1
    (failure,) = failures
    assert failure.job_id is None and failure.line().startswith(
        "rule pretrain_tiny (not submitted)"
    )
    assert "partition 'nope' does not exist" in failure.reason
    memory = REFUSED.replace(
        "invalid partition specified: nope",
        "Memory specification can not be satisfied",
    )
    assert "more memory (mem_mb) than any node" in explain(memory)[0].reason


def test_local_failures_are_not_reported(tmp_path, capsys):
    log = tmp_path / "run.log"
    log.write_text("Error in rule table1:\n    jobid: 0\n    log: results/logs/t.log (check log)\n")
    assert explain(log.read_text()) == []
    assert main(["cluster", "explain", "--snakemake-log", str(log)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["cluster", "explain", "--snakemake-log", str(tmp_path / "none.log")]) == 2
