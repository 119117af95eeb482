"""Cost of the evaluation stage before and after head seeds, kNN and bootstrap intervals.

Runs every probe and CBIR job of the default config's evaluation stage on the checkpoints and
downstream data of a finished default run, with the code of a git ref ("before", default
``main``) and with the working tree's ("after"), each first with an empty feature cache (the
encoder runs) and then with the cache it left (the encoder does not run: heads, kNN and
resampling only). Before and after alternate job by job, so load on a shared machine hits both
alike; CPU seconds (user + system) are reported beside wall seconds, as they hardly depend on
that load. Same settings for both (the working tree's config); the old code ignores the new keys.

    make run                                    # a default run in results/
    PYTHONPATH=src python bench/eval_seeds.py   # before = main
    PYTHONPATH=src python bench/eval_seeds.py --before 20480f8 --jobs 3 --results other/results
    PYTHONPATH=src python bench/eval_seeds.py --resampling-only   # the bootstrap's share
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from csmoe.config import REPO_ROOT, load_config
from csmoe.evaluation.targets import checkpoint_path, eval_plan, sweep_epochs
from csmoe.train.variants import variant_bundle


def jobs(config: dict) -> list[tuple[str, str, str]]:
    """(kind, variant, epoch) of every evaluation job `make run` runs by default."""
    plan = eval_plan(config)
    compared = {*plan.sampling_variants, *(v for pair in plan.comparisons for v in pair)}
    probes = {(v, "final") for v in {*plan.table4_variants, *compared}}
    probes |= {(plan.sweep_variant, str(e)) for e in sweep_epochs(config, plan.sweep_variant)}
    cbir = sorted({*plan.cbir_variants, *compared})
    return [("probe", v, e) for v, e in sorted(probes)] + [("cbir", v, "final") for v in cbir]


def command(
    config: dict, results: Path, kind: str, variant: str, epoch: str, out: Path
) -> list[str]:
    plan = eval_plan(config)
    common = [
        "evaluate",
        kind,
        "--params",
        json.dumps(config["evaluation"]),
        "--bundle",
        json.dumps(variant_bundle(config, variant)),
        "--checkpoint",
        str(results.parent / checkpoint_path(variant, epoch)),
        "--variant",
        variant,
    ]
    if kind == "probe":
        return [
            *common,
            "--epoch",
            epoch,
            "--tasks",
            *plan.tasks,
            "--geobench",
            str(results / "geobench"),
            "--out-dir",
            str(out),
        ]
    return [
        *common,
        "--sets",
        *plan.cbir_sets,
        "--benv2",
        str(results / "benv2"),
        "--out-dir",
        str(out),
    ]


def timed(src: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one ``csmoe`` command. On a shared
    machine the wall time mostly measures the other jobs; the CPU time is what it costs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import sys; from csmoe.cli import main; sys.exit(main())", *args],
        env={**env, "PYTHONPATH": str(src)},
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def resampling(results: Path, config: dict) -> None:
    """CPU seconds of the bootstrap alone: every interval of the per-sample files of a run,
    recomputed in this process (what the evaluation jobs spend on resampling)."""
    from csmoe.evaluation.bootstrap import BootstrapConfig, interval, load_samples, scores_from
    from csmoe.evaluation.cbir import PAIRS

    cfg = BootstrapConfig.from_dict(config["evaluation"]["bootstrap"])
    files = sorted((results / "probe").glob("*/*/*/*.npz")) + sorted(
        (results / "cbir").glob("*/*.npz")
    )
    files = [f for f in files if not f.name.endswith("_examples.npz")]
    start, count = time.process_time(), 0
    for path in files:
        samples = load_samples(path)
        retrieval = str(samples["kind"]) == "retrieval"
        key = path.stem if retrieval else path.parent.name  # the set, or the task
        for pair in PAIRS if retrieval else [""]:
            interval(scores_from(samples, pair), cfg, key)
            count += 1
    print(
        f"{count} intervals of {len(files)} per-sample files, {cfg.resamples} resamples each: "
        f"{time.process_time() - start:.1f} CPU s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git ref of the code before")
    parser.add_argument("--jobs", type=int, default=0, help="only the first N jobs (0: all)")
    parser.add_argument(
        "--results", type=Path, default=REPO_ROOT / "results", help="a finished default run"
    )
    parser.add_argument(
        "--resampling-only",
        action="store_true",
        help="only time the bootstrap intervals of the per-sample files under --results",
    )
    args = parser.parse_args()
    config = load_config()
    if args.resampling_only:
        resampling(args.results, config)
        return
    todo = jobs(config)[: args.jobs or None]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = tmp / "before"
        before.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", args.before, "src"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        sources = {"before": before / "src", "after": REPO_ROOT / "src"}
        for src in sources.values():  # byte-compiled up front: no first-run import cost
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
        env = {
            **os.environ,
            "CSMOE_MLFLOW_URI": f"sqlite:///{tmp / 'mlflow.db'}",
            "CSMOE_MLFLOW_ARTIFACTS": str(tmp / "mlartifacts"),
            "OMP_NUM_THREADS": "1",
        }
        totals = {(code, cache): [0.0, 0.0] for code in sources for cache in ("cold", "warm")}
        for kind, variant, epoch in todo:
            row = []
            for code, src in sources.items():
                out = tmp / code / kind / variant / epoch
                shutil.rmtree(out, ignore_errors=True)  # its feature cache too: cold
                for cache in ("cold", "warm"):
                    wall, cpu = timed(
                        src, command(config, args.results, kind, variant, epoch, out), env
                    )
                    totals[(code, cache)][0] += wall
                    totals[(code, cache)][1] += cpu
                    row.append(f"{code} {cache} {cpu:5.1f} ({wall:5.1f})")
            print(f"{kind:5} {variant:18} {epoch:6}", " | ".join(row), flush=True)
    ev = config["evaluation"]
    print(
        f"\n{len(todo)} jobs, seeds = {ev['seeds']}, resamples = {ev['bootstrap']['resamples']}, "
        f"kNN k = {ev['knn']['k']}; CPU s (wall s), sums over the jobs"
    )
    for cache in ("cold", "warm"):
        (bw, bc), (aw, ac) = totals[("before", cache)], totals[("after", cache)]
        print(
            f"{cache:5} cache: before {bc:7.1f} ({bw:7.1f})  after {ac:7.1f} ({aw:7.1f})  "
            f"after/before CPU {ac / bc:.2f}x"
        )
    encoder = [totals[(c, "cold")][1] - totals[(c, "warm")][1] for c in sources]
    print(f"encoder + feature cache, CPU s (cold - warm): {encoder[0]:.1f} / {encoder[1]:.1f}")


if __name__ == "__main__":
    main()
