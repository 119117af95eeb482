"""MLflow helpers: one SQLite store, safe with many concurrent writers.

SQLite allows one writer at a time. Three things keep parallel Snakemake jobs from tripping
over each other: the store is created (schema migrations) exactly once under a file lock,
the database runs in WAL mode with a long busy timeout, and every write is retried on
``database is locked``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from csmoe.log import get_logger

T = TypeVar("T")
log = get_logger(__name__)

URI_ENV = "CSMOE_MLFLOW_URI"
ARTIFACTS_ENV = "CSMOE_MLFLOW_ARTIFACTS"
DEFAULT_DB = "results/mlflow.db"
DEFAULT_ARTIFACTS = "results/mlartifacts"
BUSY_TIMEOUT_S = 120
HOST_TAG, PID_TAG = "csmoe.host", "csmoe.pid"  # which process a run belongs to


def store_uri() -> str:
    """The tracking URI in force (env ``CSMOE_MLFLOW_URI``, else ``sqlite:///results/mlflow.db``)."""
    return os.environ.get(URI_ENV, f"sqlite:///{DEFAULT_DB}")


def artifact_root() -> Path:
    return Path(os.environ.get(ARTIFACTS_ENV, DEFAULT_ARTIFACTS)).resolve()


def _sqlite_path(uri: str) -> Path | None:
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return Path(uri[len(prefix) :].split("?", 1)[0])


def _engine_uri(uri: str) -> str:
    # the sqlite3 driver's own busy timeout makes a writer wait instead of failing
    if _sqlite_path(uri) is not None and "timeout=" not in uri:
        return f"{uri}{'&' if '?' in uri else '?'}timeout={BUSY_TIMEOUT_S}"
    return uri


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def init_store(uri: str | None = None) -> str:
    """Create the store once (idempotent, safe when many processes call it at the same time)."""
    uri = uri or store_uri()
    db = _sqlite_path(uri)
    if db is not None:
        with _file_lock(db.with_name(db.name + ".lock")):
            fresh = not db.exists() or db.stat().st_size == 0
            db.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(db, timeout=BUSY_TIMEOUT_S) as con:
                con.execute("PRAGMA journal_mode=WAL")
            if fresh:
                log.info("creating MLflow store %s", db)
            _client(uri).search_experiments(max_results=1)  # runs the schema migrations
    os.environ.setdefault(URI_ENV, uri)
    return uri


def _client(uri: str) -> Any:
    # NullPool: never keep sqlite connections open across forks or between jobs
    os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=_engine_uri(uri))


def retry_locked(fn: Callable[[], T], *, attempts: int = 20, wait_s: float = 0.5) -> T:
    """Run ``fn``, retrying when SQLite reports the database locked or busy."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as err:  # SQLAlchemy/MLflow wrap sqlite errors in their own types
            text = str(err).lower()
            if ("locked" not in text and "busy" not in text) or attempt == attempts - 1:
                raise
            time.sleep(wait_s * (1 + attempt))
    raise AssertionError("unreachable")


# shown by the MLflow UI above an experiment's runs (the experiment's note tag)
NOTE_TAG = "mlflow.note.content"
DESCRIPTIONS = {
    "csmoe/sampling": "Stage 1-2: Major TOM archive descriptors (climate, land cover), GA "
    "sample MTomμ and random sample MTomr, Table II, Fig. 3. One run per step.",
    "csmoe/data": "Mini-world / downloaded Major TOM tiles, patch extraction and stores, "
    "GEO-Bench and BigEarthNet-v2 sets. One run per set or task.",
    "csmoe/models": "Table I: parameters, FLOPs and C2C of the models.",
    "csmoe/pretrain": "One run per variant (tags variant, model, patch_size, train_set): "
    "every loss term per epoch, checkpoints and the loss curve as artifacts.",
    "csmoe/evaluation": "One run per result (tags variant, epoch, task, strategy; CBIR: set). "
    "Probes: test = mean over head seeds, test_std, test_ci_low / test_ci_high (95 % bootstrap "
    "over test samples), test_seed0.., valid, valid_std, valid_seed0..; CBIR: "
    "{pair}.precision / recall / f1 / f1_ci_low / f1_ci_high. Same names for every variant: "
    "filter one task and strategy, then compare runs.",
    "csmoe/report": "Tables and figures built from the evaluation results (artifacts), "
    "including the kNN table and the paired comparisons.",
}


def experiment_id(name: str, uri: str | None = None) -> str:
    """Id of the experiment ``name``, created (race-free) when missing, with its description."""
    client = _client(uri or store_uri())
    note = DESCRIPTIONS.get(name)

    def get_or_create() -> str:
        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                location = (artifact_root() / name).as_uri()
                return client.create_experiment(
                    name, artifact_location=location, tags={NOTE_TAG: note} if note else None
                )
            except Exception:
                # another process created it between our get and create
                found = client.get_experiment_by_name(name)
                if found is None:
                    raise
        if note and found.tags.get(NOTE_TAG) != note:  # a store from before the descriptions
            client.set_experiment_tag(found.experiment_id, NOTE_TAG, note)
        return found.experiment_id

    return retry_locked(get_or_create)


class StageRun:
    """A thin handle on one MLflow run; every call retries on a locked database."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        flat = flatten(params)
        items = [Param(k, str(v)[:6000]) for k, v in flat.items()]
        for i in range(0, len(items), 100):
            chunk = items[i : i + 100]
            retry_locked(lambda c=chunk: self.client.log_batch(self.run_id, params=c))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step or 0) for k, v in flatten(metrics).items()]
        if items:
            retry_locked(lambda: self.client.log_batch(self.run_id, metrics=items))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        retry_locked(lambda: self.client.log_artifact(self.run_id, str(path), artifact_path))

    def set_tags(self, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            retry_locked(lambda k=key, v=value: self.client.set_tag(self.run_id, k, str(v)))


@contextlib.contextmanager
def stage_run(
    stage: str,
    run_name: str,
    *,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    supersedes: str | None = None,
    uri: str | None = None,
) -> Iterator[StageRun]:
    """Open a run in the experiment ``csmoe/{stage}``; mark it FAILED if the body raises and
    KILLED if it is interrupted (Ctrl-C, SIGTERM).

    A process killed outright (SIGKILL, out of memory, node failure) cannot close its run, so
    runs left RUNNING are closed as KILLED here: ``supersedes`` (the earlier attempt a
    resumed job continues) and any run of the same name whose process, on this machine, no
    longer exists.
    """
    uri = uri or store_uri()
    init_store(uri)
    client = _client(uri)
    exp = experiment_id(f"csmoe/{stage}", uri)
    close_abandoned(client, exp, run_name, supersedes)
    all_tags = {
        "stage": stage,
        **(tags or {}),
        HOST_TAG: socket.gethostname(),
        PID_TAG: os.getpid(),
    }
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    all_tags = {k: str(v) for k, v in all_tags.items()}
    run = retry_locked(lambda: client.create_run(exp, run_name=run_name, tags=all_tags))
    handle = StageRun(client, run.info.run_id)
    status = "FAILED"
    try:
        if params:
            handle.log_params(params)
        yield handle
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        retry_locked(lambda: client.set_terminated(handle.run_id, status=status))


def close_abandoned(client: Any, exp: str, run_name: str, supersedes: str | None = None) -> int:
    """Mark KILLED the runs named ``run_name`` still RUNNING although their process is gone
    (on this host; other hosts' processes cannot be checked), and ``supersedes`` if it is
    still RUNNING. Returns how many were closed."""
    from csmoe.io import process_alive

    running = retry_locked(
        lambda: client.search_runs([exp], filter_string="attributes.status = 'RUNNING'")
    )
    host, closed = socket.gethostname(), 0
    for run in running:
        tags = run.data.tags
        dead = (
            run.info.run_name == run_name
            and tags.get(HOST_TAG) == host
            and tags.get(PID_TAG, "").isdigit()
            and not process_alive(int(tags[PID_TAG]))
        )
        if dead or run.info.run_id == supersedes:
            retry_locked(lambda r=run: client.set_terminated(r.info.run_id, status="KILLED"))
            log.info(
                "marked MLflow run %s (%s) KILLED: its process is gone", run.info.run_id, run_name
            )
            closed += 1
    return closed


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{'a': {'b': 1}}`` → ``{'a.b': 1}`` — MLflow keys are flat."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
