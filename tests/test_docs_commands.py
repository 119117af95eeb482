"""Every command a reader is meant to run, in the docs, runs as written (as far as this machine
allows).

Commands meant to be run live in fenced ```sh blocks of README.md, docs/*.md and
bench/README.md; every line of every such block is checked, so a new command is checked by
default:

- ``snakemake ...``: a dry run (``-n``) in a clean copy of the workflow must build its DAG;
- ``csmoe ...``: parsed by the real argument parser (and run where it needs no inputs);
- ``make ...``: ``make -n`` must know the targets;
- ``mlflow ui ...``: the server is started and must answer HTTP;
- ``python bench/...``: the script's own argument parser must accept the arguments (it is
  stopped right after parsing, so the benchmark does not run);
- ``source FILE``: the file must exist.

A command that cannot be checked here is listed in ``UNCHECKED`` with the reason; any other
program fails the test until it gets a checker or a reason.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from csmoe.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "bench/README.md", *sorted(str(p.relative_to(ROOT))
                                                  for p in (ROOT / "docs").glob("*.md")))
SHELL_LANGS = {"sh", "bash", "shell", "console"}
BIN = Path(sys.executable).parent  # the venv's bin: snakemake, csmoe, mlflow
# files the workflow reads when it builds a DAG: copied into a clean folder for the dry runs
WORKFLOW_FILES = ("Snakefile", "workflow", "config", "profiles", "envs")

# (regex on the command, reason): commands that cannot be checked on this machine
UNCHECKED = (
    (r"^git clone <repo>", "a placeholder repository; CI's fresh clone runs `make test` itself"),
    (r"^(sinfo|scontrol|squeue)\b", "they read the local SLURM cluster (tests/cluster/slurm-up); "
     "tests/cluster runs them against it"),
)

# csmoe commands that need no inputs: run for real, not only parsed
RUN_FOR_REAL = (("grid", "locate"), ("complexity",))


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """(language, first line number, lines) of every fenced code block."""
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if lang is None:
                lang, start, body = line[3:].strip() or "-", number + 1, []
            else:
                blocks.append((lang, start, body))
                lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, "unclosed code fence"
    return blocks


def indented_code_lines(text: str) -> list[int]:
    """Line numbers that open an indented (unfenced) code block: a command there would escape
    the check, so the docs must use fences."""
    found, fenced, previous = [], False, ""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("    ") and line.strip() and not previous.strip():
            found.append(number)
        previous = line
    return found


def doc_commands(doc: str) -> list[Command]:
    """The logical command lines (``\\`` continuations joined) of a doc's shell blocks."""
    commands = []
    for lang, start, body in fenced_blocks((ROOT / doc).read_text()):
        if lang not in SHELL_LANGS:
            continue
        pending, first = "", 0
        for offset, line in enumerate(body):
            if not pending:
                first = start + offset
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            if text and not text.startswith("#"):
                commands.append(Command(doc, first, text))
    return commands


ALL_COMMANDS = [command for doc in DOCS for command in doc_commands(doc)]


def words(text: str) -> tuple[dict[str, str], list[str]]:
    """Leading ``VAR=value`` assignments and the words of one simple command (no comments)."""
    argv = shlex.split(text, comments=True)
    env = {}
    while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    if argv and argv[0] == "time":
        argv.pop(0)
    return env, argv


# --- checkers: each returns None when the command is fine, else what is wrong ---------------

def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    return subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def failure(result: subprocess.CompletedProcess) -> str | None:
    if result.returncode == 0:
        return None
    tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
    return f"exit status {result.returncode}:\n" + "\n".join(tail)


def check_snakemake(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    # -n first: after `--configfile A B` a trailing flag would be read as a config file too
    return failure(run([str(BIN / "snakemake"), "-n", *argv[1:]], workdir, env))


def check_csmoe(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    args = argv[1:]
    try:
        parsed = build_parser().parse_args(args)
    except SystemExit as err:
        return f"the argument parser refused it (exit status {err.code})"
    missing = [a for a in args if re.match(r"^(config|profiles)/", a) and not (ROOT / a).exists()]
    if missing:
        return f"no such file: {missing}"
    words_ = [a for a in args if not a.startswith("-")]
    if getattr(parsed, "print_launch", False) or any(
            words_[:len(prefix)] == list(prefix) for prefix in RUN_FOR_REAL):
        return failure(run([str(BIN / "csmoe"), *args], ROOT, env))
    return None


def check_make(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    return failure(run(["make", "-n", *argv[1:]], ROOT, env))


def check_source(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    return None if (ROOT / argv[1]).is_file() else f"no such file: {argv[1]}"


def check_cluster_script(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    # run for real by tests/cluster (starting, installing, stopping SLURM is no dry run)
    script = ROOT / argv[0]
    return None if os.access(script, os.X_OK) else f"not an executable script: {argv[0]}"


# A bench script is stopped right after its parser accepted the arguments.
ARGCHECK = """
import argparse, os, runpy, sys
original = argparse.ArgumentParser.parse_args
def parse_args(self, args=None, namespace=None):
    original(self, args, namespace)
    print("ARGUMENTS-ACCEPTED")
    sys.exit(0)
argparse.ArgumentParser.parse_args = parse_args
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))  # as `python script.py` does
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def check_python(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    script = ROOT / argv[1]
    if not script.is_file():
        return f"no such script: {argv[1]}"
    if "parse_args(" not in script.read_text():
        return f"{argv[1]} has no argument parser to check the arguments with"
    result = run([sys.executable, "-c", ARGCHECK, *argv[1:]], ROOT, env)
    if "ARGUMENTS-ACCEPTED" not in result.stdout:
        return failure(result) or "the script ended without parsing its arguments"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_mlflow(argv: list[str], env: dict[str, str], workdir: Path) -> str | None:
    if argv[1:2] != ["ui"]:
        return f"no checker for `mlflow {argv[1]}`"
    port = free_port()
    (workdir / "results").mkdir(exist_ok=True)
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    # one worker: the default four only multiply the start-up time
    log = workdir / f"mlflow-ui-{port}.log"  # a file, not a pipe nobody reads: it never fills
    with log.open("w") as sink:
        server = subprocess.Popen([str(BIN / "mlflow"), *argv[1:], "--host", "127.0.0.1",
                                   "--port", str(port), "--workers", "1"], cwd=workdir,
                                  env=full_env, stdout=sink, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # own group: stopped with its workers
    try:
        deadline = time.monotonic() + 300  # generous: a loaded CI box is slow
        while time.monotonic() < deadline:
            if server.poll() is not None:
                return f"the server exited ({server.returncode}): {log.read_text()[-800:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    return None if page.status == 200 else f"HTTP {page.status}"
            except OSError:
                time.sleep(0.5)
        return "the server did not answer within 300 s"
    finally:
        stop_group(server)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process and its children; SIGKILL if they are still there after 30 s."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


CHECKERS = {
    "snakemake": check_snakemake,
    "csmoe": check_csmoe,
    "make": check_make,
    "python": check_python,
    "source": check_source,
    "mlflow": check_mlflow,
    "tests/cluster/slurm-up": check_cluster_script,
    "tests/cluster/slurm-down": check_cluster_script,
}


def check(command: Command, workdir: Path) -> str | None:
    """None if the command is fine (or listed as uncheckable), else what is wrong."""
    for pattern, _reason in UNCHECKED:
        if re.search(pattern, command.text):
            return None
    for part in command.text.split("&&"):
        env, argv = words(part)
        if not argv:
            continue
        checker = CHECKERS.get(argv[0])
        if checker is None:
            return (f"no checker for `{argv[0]}`: add one to tests/test_docs_commands.py, or "
                    "list the command in UNCHECKED with the reason")
        problem = checker(argv, env, workdir)
        if problem:
            return problem
    return None


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A clean copy of the workflow: dry runs see no earlier results and write nothing here."""
    copy = tmp_path_factory.mktemp("workflow")
    for name in WORKFLOW_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            shutil.copy2(source, copy / name)
    return copy


@pytest.fixture(scope="session")
def results(workdir) -> dict[str, str | None]:
    """Every distinct command (comments aside) checked once, two at a time: most of the time
    is Snakemake and torch starting."""
    def outcome(command: Command) -> str | None:
        try:
            return check(command, workdir)
        except Exception as err:  # one command's trouble must not fail the others
            return f"the check itself failed: {type(err).__name__}: {err}"

    distinct = {" ".join(shlex.split(c.text, comments=True)): c for c in ALL_COMMANDS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(zip(distinct, pool.map(outcome, distinct.values()), strict=True))
    return {c.id: outcomes[" ".join(shlex.split(c.text, comments=True))] for c in ALL_COMMANDS}


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=[c.id for c in ALL_COMMANDS])
def test_documented_command_runs(command, results):
    problem = results[command.id]
    assert problem is None, f"{command.id}: `{command.text}`\n{problem}"


@pytest.mark.parametrize("doc", DOCS)
def test_commands_are_in_fenced_blocks(doc):
    lines = indented_code_lines((ROOT / doc).read_text())
    assert not lines, f"{doc}: indented code block at lines {lines}; use a fenced ```sh block"


def test_every_doc_has_its_commands_found():
    found = {c.text.split("#")[0].strip() for c in ALL_COMMANDS}
    assert {"make run", "make test"} <= found
    assert sum(c.doc == "README.md" for c in ALL_COMMANDS) >= 20


# The checks themselves must be able to fail: the forms a user got wrong must be refused.
@pytest.mark.parametrize("text", [
    "snakemake --cores 64 --configfile config/paper.yaml results/table4.csv",  # targets eaten
    "snakemake --cores 2 results/no_such_table.csv",
    "csmoe sampling {archive,ga} --config config/config.yaml",
    "csmoe pretrain run --no-such-flag",
    "make no-such-target",
    "PYTHONPATH=src python bench/models_softmoe.py --no-such-flag 1",
    "pip install something",
])
def test_a_broken_command_is_refused(text, workdir):
    assert check(Command("example", 1, text), workdir) is not None
