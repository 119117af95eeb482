from __future__ import annotations

import multiprocessing as mp
import os

from csmoe import tracking


def _writer(uri: str, artifacts: str, worker: int, n_steps: int) -> None:
    os.environ[tracking.URI_ENV] = uri
    os.environ[tracking.ARTIFACTS_ENV] = artifacts
    with tracking.stage_run("concurrency", f"w{worker}", params={"worker": worker}) as run:
        for step in range(n_steps):
            run.log_metrics({"value": worker * 1000 + step}, step=step)


def test_concurrent_writers_do_not_corrupt_or_lose(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    artifacts = str(tmp_path / "art")
    n_workers, n_steps = 6, 15
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(uri, artifacts, w, n_steps)) for w in range(n_workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * n_workers

    client = tracking._client(uri)
    exp = client.get_experiment_by_name("csmoe/concurrency")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == n_workers  # one experiment, created once despite the race
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "value")
        worker = int(run.data.params["worker"])
        assert sorted(m.value for m in history) == [worker * 1000 + s for s in range(n_steps)]


def test_failed_body_marks_run_failed(tmp_path):
    try:
        with tracking.stage_run("failing", "x"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    client = tracking._client(tracking.store_uri())
    exp = client.get_experiment_by_name("csmoe/failing")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FAILED"


def test_flatten_nested_params():
    assert tracking.flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {
        "a.b": 1,
        "a.c.d": 2,
        "e": 3,
    }


def test_every_stage_experiment_has_a_description():
    with tracking.stage_run("evaluation", "x", params={"a": 1}):
        pass
    client = tracking._client(tracking.store_uri())
    exp = client.get_experiment_by_name("csmoe/evaluation")
    assert "test_ci_low" in exp.tags[tracking.NOTE_TAG]
    # a store made before the descriptions gets them on the next run
    client.delete_experiment_tag(exp.experiment_id, tracking.NOTE_TAG)
    with tracking.stage_run("evaluation", "y"):
        pass
    exp = client.get_experiment_by_name("csmoe/evaluation")
    assert exp.tags[tracking.NOTE_TAG] == tracking.DESCRIPTIONS["csmoe/evaluation"]


def _runs(name):
    client = tracking._client(tracking.store_uri())
    exp = client.get_experiment_by_name(f"csmoe/{name}")
    return {r.info.run_id: r for r in client.search_runs([exp.experiment_id])}


def test_a_run_whose_process_was_killed_is_closed_when_the_job_reruns(tmp_path):
    import subprocess
    import sys

    # SIGKILL leaves no chance to close the run: it stays RUNNING...
    body = (
        "import os, signal\n"
        "from csmoe import tracking\n"
        "with tracking.stage_run('killing', 'job-a'):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", body], timeout=120, check=False)
    assert done.returncode == -9
    (killed,) = _runs("killing").values()
    assert killed.info.status == "RUNNING"
    # ...until the job runs again (or anything of that name on this machine)
    with tracking.stage_run("killing", "job-a"):
        pass
    runs = _runs("killing")
    assert runs[killed.info.run_id].info.status == "KILLED"
    assert sorted(r.info.status for r in runs.values()) == ["FINISHED", "KILLED"]


def test_a_resumed_job_closes_the_attempt_it_continues(tmp_path):
    client = tracking._client(tracking.store_uri())
    exp = tracking.experiment_id("csmoe/resuming")
    other = {tracking.HOST_TAG: "another-node", tracking.PID_TAG: "1"}
    earlier = client.create_run(exp, run_name="v", tags=other).info.run_id
    unrelated = client.create_run(exp, run_name="v", tags=other).info.run_id
    with tracking.stage_run("resuming", "v", supersedes=earlier):
        pass
    runs = _runs("resuming")
    assert runs[earlier].info.status == "KILLED"
    assert runs[unrelated].info.status == "RUNNING"  # another node's process: not ours to judge


def test_an_interrupted_body_marks_the_run_killed(tmp_path):
    try:
        with tracking.stage_run("interrupted", "x"):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    (run,) = _runs("interrupted").values()
    assert run.info.status == "KILLED"
