"""The rehearsal of the paper-scale path, measured: per-rule wall time, CPU time and peak memory,
checkpoint sizes, disk footprint, and from the measured per-item rates a projection of every
stage to paper scale (bench/README.md, "Rehearsal").

    tests/cluster/slurm-up                     # a one-node SLURM cluster on this machine
    python bench/rehearsal.py run              # the rehearsal through profiles/slurm, sampled
    python bench/rehearsal.py report           # the tables again from results/ (no rerun)

``run`` executes ``snakemake --profile profiles/slurm --configfile=config/rehearsal.yaml
results/table4.csv`` from a clean results/ (refuses a non-empty one) and samples the load
average and the disk use of results/ every 15 s. Per-rule figures come from the ``csmoe
usage:`` line every command logs last (csmoe.usage): without accounting SLURM keeps none.
Writes results/bench/rehearsal.json and prints the markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from csmoe.config import validate_config  # noqa: E402
from csmoe.models.complexity import decoder_macs, encoder_macs  # noqa: E402
from csmoe.train.variants import resolve_variant, variant_bundle  # noqa: E402
from csmoe.usage import parse  # noqa: E402

COMMAND = [
    "snakemake",
    "--profile",
    "profiles/slurm",
    "--configfile=config/rehearsal.yaml",  # `=`: --configfile takes several files
    "results/table4.csv",
]
# Paper scale (paper section III, DATA.md, paper NOTES.md)
PAPER_TILES = 18_846  # MTomu tiles (MTomr: as many); 64 patches of 120 px each before drops
# training items per epoch: Major TOM patches (paper), BigEarthNet-v2 training pairs (paper.yaml)
PAPER_TRAIN_ITEMS = {"mtom_mu": 1_055_080, "mtom_r": 1_055_080, "benv2": 237_000}
PAPER_SWEEP_CHECKPOINTS = 16  # Fig. 5: every 50 epochs up to 800
PAPER_BENV2_PAIRS = 243_130 + 13_683  # 243k and 14k subsets (upper bound: all their pairs)
# GEO-Bench v1.0 split sizes as published (Lacoste et al. 2023); not downloaded here
PAPER_GEOBENCH_IMAGES = 22_000 + 17_061 + 21_964 + 4_000 + 1_800 + 5_000
# The stated machine for the GPU figures: one node of 4 H100 SXM (paper.yaml: gpus 4),
# dense bf16 peak 989 TFLOP/s at an assumed 40 % model FLOP utilisation (not measured here)
GPUS, GPU_FLOPS, MFU = 4, 989e12, 0.40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "report"])
    parser.add_argument("--every-s", type=float, default=15.0, help="sampling interval")
    args = parser.parse_args()
    os.chdir(ROOT)
    samples = _run(args.every_s) if args.mode == "run" else _load_samples()
    report = collect(samples)
    Path("results/bench").mkdir(parents=True, exist_ok=True)
    Path("results/bench/rehearsal.json").write_text(json.dumps(report, indent=1, default=str))
    print(markdown(report))


def _run(every_s: float) -> dict:
    results = Path("results")
    if any(p.name != ".gitkeep" for p in results.glob("*")):
        sys.exit("results/ is not empty: the rehearsal is measured from a clean state")
    rows, done = [], threading.Event()

    def sample() -> None:
        while not done.wait(every_s):
            rows.append({"t": time.time(), "load1": os.getloadavg()[0], "disk": _du(results)})

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.time()
    sampler.start()
    proc = subprocess.run(COMMAND, check=False)
    end = time.time()
    done.set()
    sampler.join()
    samples = {"start": start, "end": end, "returncode": proc.returncode, "rows": rows}
    Path("results/bench").mkdir(parents=True, exist_ok=True)
    Path("results/bench/rehearsal_samples.json").write_text(json.dumps(samples))
    if proc.returncode:
        sys.exit(f"the rehearsal failed (exit {proc.returncode})")
    return samples


def _load_samples() -> dict:
    return json.loads(Path("results/bench/rehearsal_samples.json").read_text())


def _du(path: Path) -> int:
    """Bytes on disk under ``path``, hard links counted once (as `du`)."""
    out = subprocess.run(["du", "-s", "-B1", str(path)], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else 0


def collect(samples: dict) -> dict:
    config = _config()
    jobs = _jobs()
    rows = samples["rows"]
    report = {
        "wall_s": samples["end"] - samples["start"],
        "load1_mean": sum(r["load1"] for r in rows) / max(1, len(rows)),
        "load1_max": max((r["load1"] for r in rows), default=0.0),
        "disk_peak_gb": max((r["disk"] for r in rows), default=0) / 1e9,
        "disk_final_gb": _du(Path("results")) / 1e9,
        "cpus": os.cpu_count(),
        "jobs": jobs,
        "files": _files(),
        "projection": projection(config, jobs),
    }
    report["cpu_s_total"] = sum(j["cpu_s"] for j in jobs)
    return report


def _config() -> dict:
    base = yaml.safe_load(Path("config/config.yaml").read_text())
    top = yaml.safe_load(Path("config/rehearsal.yaml").read_text())
    return validate_config(_merge(base, top))


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merge(base[key], value) if both else value
    return out


def _jobs() -> list[dict]:
    """One row per rule log with a usage line: the job, its wall/CPU time and peak memory."""
    rows = []
    for log in sorted(Path("results/logs").rglob("*.log")):
        usage = parse(log.read_text(errors="replace"))
        if usage is None:
            continue
        stage, job = log.parent.name, log.stem
        rows.append(
            {
                "job": f"{stage}/{job}",
                "wall_s": usage.wall_s,
                "cpu_s": usage.cpu_s,
                "max_rss_mb": usage.max_rss_mb,
            }
        )
    return rows


def _files() -> dict:
    """Checkpoint sizes per variant, training state and MLflow artifact sizes."""
    out: dict = {"checkpoints": {}}
    for folder in sorted(Path("results/pretrain").iterdir()):
        ckpts = sorted(folder.glob("*.safetensors"))
        inodes = {c.stat().st_ino: c.stat().st_size for c in ckpts}
        out["checkpoints"][folder.name] = {
            "files": len(ckpts),
            "distinct": len(inodes),
            "each_gb": max(inodes.values()) / 1e9,
            "on_disk_gb": sum(inodes.values()) / 1e9,
        }
    # the state's ckpt/ files are hard links to the published checkpoints: count the rest
    state = [p.stat() for p in Path("results/.state").rglob("*") if p.is_file()]
    out["state_gb"] = sum(st.st_size for st in state if st.st_nlink == 1) / 1e9
    out["mlflow_artifacts_gb"] = _du(Path("results/mlartifacts")) / 1e9
    out["patches_gb"] = _du(Path("results/patches")) / 1e9
    out["tiles_gb"] = _du(Path("results/majortom")) / 1e9
    return out


def _job(jobs: list[dict], name: str) -> dict:
    return next(j for j in jobs if j["job"] == name)


def projection(config: dict, jobs: list[dict]) -> list[dict]:
    """Each stage at paper scale from its measured per-item CPU time (and, for the model
    stages, from FLOPs on the stated GPU machine)."""
    rows = []
    for name in config["data"]["sets"]:
        tiles = json.loads(Path(f"results/patches/{name}/stats.json").read_text())["tiles_in"]
        world = _job(jobs, f"world/majortom_{name}")["cpu_s"]
        rows.append(
            _row(f"render tiles ({name}; paper downloads them)", world / tiles, PAPER_TILES)
        )
        extract = _job(jobs, f"data/extract_{name}")["cpu_s"]
        rows.append(_row(f"extract patches ({name})", extract / tiles, PAPER_TILES))
    pairs = json.loads(Path("results/patches/benv2/stats.json").read_text())["pairs_in"]
    store = _job(jobs, "data/benv2_store")["cpu_s"]
    rows.append(_row("BENv2 pairs -> store", store / pairs, PAPER_TRAIN_ITEMS["benv2"], "pair"))
    sweep = config["evaluation"]["sweep_variant"]
    for name in config["variants"]:
        job = resolve_variant(variant_bundle(config, name))
        history = pd.read_csv(f"results/pretrain/{name}/history.csv")
        per_image = job.threads / float(history["images_per_s"].median())  # core-seconds
        epochs = 800 if name == sweep else 150
        images = PAPER_TRAIN_ITEMS[job.train_set] * epochs
        row = _row(f"pretrain {name} ({epochs} epochs)", per_image, images, "image")
        row["gpu_h"] = images / (GPUS * _gpu_images_per_s(job.model, train=True)) / 3600
        rows.append(row)
    probes = [j for j in jobs if j["job"].startswith("evaluation/probe_")]
    per_probe = sum(config["downstream"]["geobench"]["samples"].values()) * len(
        config["evaluation"]["tasks"]
    )
    probe_cpu = sum(j["cpu_s"] for j in probes) / (len(probes) * per_probe)
    rehearsal_sweep = resolve_variant(variant_bundle(config, sweep)).ckpt_epochs
    checkpoints = len(probes) - len(rehearsal_sweep) + PAPER_SWEEP_CHECKPOINTS
    rows.append(
        _row(
            f"probe, {checkpoints} checkpoints",
            probe_cpu,
            PAPER_GEOBENCH_IMAGES * checkpoints,
            "image",
        )
    )
    cbirs = [j for j in jobs if j["job"].startswith("evaluation/cbir_")]
    cbir_cpu = sum(j["cpu_s"] for j in cbirs) / (len(cbirs) * _benv2_pairs_encoded(config))
    rows.append(
        _row(f"CBIR, {len(cbirs)} variants", cbir_cpu, PAPER_BENV2_PAIRS * len(cbirs), "pair")
    )
    return rows


def _row(stage: str, cpu_per_item: float, paper_items: float, unit: str = "tile") -> dict:
    return {
        "stage": stage,
        "unit": unit,
        "cpu_s_per_item": cpu_per_item,
        "paper_items": paper_items,
        "paper_cpu_core_h": cpu_per_item * paper_items / 3600,
    }


def _gpu_images_per_s(model: dict, train: bool) -> float:
    """Training images (S1+S2 pairs) per second on one GPU from the model's MACs: both
    sensors through encoder and decoder, x 3 for forward + backward, 2 FLOPs per MAC."""
    from csmoe.models.config import ModelConfig

    cfg = ModelConfig.from_dict(model)
    macs = sum(encoder_macs(cfg, m) + decoder_macs(cfg, m) for m in ("s1", "s2"))
    return GPU_FLOPS * MFU / (2 * macs * (3 if train else 1))


def _benv2_pairs_encoded(config: dict) -> int:
    """Pairs one CBIR job encodes: the validation (queries) and test (archive) pairs of each
    of its subsets, selected as the evaluation selects them."""
    from csmoe.data.benv2 import open_pairs

    return sum(
        len(open_pairs("results/benv2", subset, split))
        for subset in config["evaluation"]["cbir"]["sets"].values()
        for split in ("valid", "test")
    )


def markdown(report: dict) -> str:
    lines = [
        f"Wall {report['wall_s'] / 60:.1f} min on {report['cpus']} cores, load average "
        f"{report['load1_mean']:.1f} on average (max {report['load1_max']:.1f}); CPU "
        f"{report['cpu_s_total'] / 60:.1f} min over {len(report['jobs'])} jobs; disk peak "
        f"{report['disk_peak_gb']:.1f} GB, at the end {report['disk_final_gb']:.1f} GB.",
        "",
        "| job (results/logs/...) | wall s | CPU s | max RSS MB |",
        "|---|---:|---:|---:|",
    ]
    for j in report["jobs"]:
        lines.append(
            f"| {j['job']} | {j['wall_s']:.0f} | {j['cpu_s']:.0f} | {j['max_rss_mb']:.0f} |"
        )
    files = report["files"]
    lines += [
        "",
        "| variant | checkpoint files | distinct | each GB | on disk GB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in files["checkpoints"].items():
        lines.append(
            f"| {name} | {c['files']} | {c['distinct']} | {c['each_gb']:.2f} "
            f"| {c['on_disk_gb']:.2f} |"
        )
    lines.append(
        f"\nTraining states at the end {files['state_gb']:.2f} GB (beyond the checkpoints they "
        f"hard-link); MLflow artifacts "
        f"{files['mlflow_artifacts_gb']:.2f} GB; patch stores {files['patches_gb']:.2f} GB; "
        f"tiles {files['tiles_gb']:.2f} GB."
    )
    lines += [
        "",
        "| stage | CPU s per item (measured) | paper items | paper CPU core-hours | "
        f"{GPUS}x H100 hours (FLOPs, {MFU:.0%} MFU) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["projection"]:
        gpu = f"{r['gpu_h']:.1f}" if "gpu_h" in r else "–"
        lines.append(
            f"| {r['stage']} | {r['cpu_s_per_item']:.2f} per {r['unit']} | {r['paper_items']:,.0f} "
            f"| {r['paper_cpu_core_h']:,.0f} | {gpu} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
