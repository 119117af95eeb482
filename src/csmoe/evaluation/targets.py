"""What the evaluation and report rules build: variants, epochs, tasks and result paths.

Torch-free on purpose: the Snakemake rules import it to declare their inputs and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from csmoe.data.geobench_format import get_task
from csmoe.errors import ConfigError
from csmoe.train.variants import RUNTIME_KEYS, PretrainJob, resolve_variant, variant_bundle


@dataclass(frozen=True)
class EvalPlan:
    tasks: list[str]
    seg_tasks: list[str]
    cls_tasks: list[str]
    strategy: str
    strategies: list[str]
    cbir_sets: list[str]
    table4_variants: list[str]
    cbir_variants: list[str]
    table5_variant: str
    sweep_variant: str
    sampling_variants: list[str]
    knn_ks: list[int]
    comparisons: list[tuple[str, str]]

    def probe_results(
        self, variant: str, epoch: int | str, tasks: list[str] | None = None, strategy: str = ""
    ) -> list[str]:
        """Result files of ``variant`` at ``epoch``: classification tasks with ``strategy``
        (default: the plan's), segmentation tasks with UPerNet."""
        strategy = strategy or self.strategy
        return [
            f"results/probe/{variant}/{epoch}/{t}/"
            f"{'upernet' if t in self.seg_tasks else strategy}.json"
            for t in (self.tasks if tasks is None else tasks)
        ]

    def knn_results(self, variant: str, epoch: int | str) -> list[str]:
        """kNN result files of ``variant`` at ``epoch``: every classification task and k."""
        return [
            f"results/probe/{variant}/{epoch}/{t}/knn{k}.json"
            for t in self.cls_tasks
            for k in self.knn_ks
        ]

    def cbir_results(self, variant: str) -> list[str]:
        return [f"results/cbir/{variant}/{s}.json" for s in self.cbir_sets]

    def probe_outputs(self, variant: str = "{variant}", epoch: str = "{epoch}") -> list[str]:
        """Everything one probe job writes for one checkpoint (Snakemake wildcards by
        default): every strategy and kNN of every classification task, UPerNet results and
        examples of every segmentation task, each result with its per-sample ``.npz``."""
        root = f"results/probe/{variant}/{epoch}"
        heads = [*self.strategies, *(f"knn{k}" for k in self.knn_ks)]
        return [
            *(f"{root}/{t}/{h}{x}" for t in self.cls_tasks for h in heads for x in RESULT),
            *(f"{root}/{t}/upernet{x}" for t in self.seg_tasks for x in (*RESULT, "_examples.npz")),
        ]


# a result file and its per-sample results (csmoe.evaluation.bootstrap)
RESULT = (".json", ".npz")


def samples_of(results: list[str]) -> list[str]:
    """The per-sample ``.npz`` beside each result JSON."""
    return [r.removesuffix(".json") + ".npz" for r in results]


def eval_plan(config: dict[str, Any]) -> EvalPlan:
    """Resolve the evaluation section against the variants of ``config``."""
    ev = config["evaluation"]
    variants = list(config.get("variants", {}))
    tasks = list(ev["tasks"])
    seg = [t for t in tasks if get_task(t).kind == "segmentation"]
    table4 = ev["table4_variants"] or variants
    cbir = ev["cbir_variants"] or variants
    plan = EvalPlan(
        tasks=tasks,
        seg_tasks=seg,
        cls_tasks=[t for t in tasks if t not in seg],
        strategy=ev["strategy"],
        strategies=list(ev["strategies"]),
        cbir_sets=list(ev["cbir"]["sets"]),
        table4_variants=table4,
        cbir_variants=cbir,
        table5_variant=ev["table5_variant"] or (table4[0] if table4 else ""),
        sweep_variant=ev["sweep_variant"] or (table4[0] if table4 else ""),
        sampling_variants=list(ev["sampling_variants"]),
        knn_ks=[int(k) for k in ev["knn"]["k"]],
        comparisons=[(c["a"], c["b"]) for c in config["report"]["comparisons"]],
    )
    compared = [
        *plan.table4_variants,
        *plan.cbir_variants,
        *plan.sampling_variants,
        *([plan.table5_variant] if plan.table5_variant else []),
        *(v for pair in plan.comparisons for v in pair),
    ]
    unknown = sorted({*compared, plan.sweep_variant} - set(variants) - {""})
    if unknown:
        raise ConfigError(
            f"evaluation / report.comparisons name variants {unknown} that config['variants'] lacks"
        )
    for key, value in (("strategy", plan.strategy), ("knn.strategy", ev["knn"]["strategy"])):
        if value not in plan.strategies:
            raise ConfigError(f"evaluation.{key} {value!r} must be one of evaluation.strategies")
    jobs = {name: _job(config, name) for name in dict.fromkeys(compared)}
    _check_lengths(config, jobs)
    _check_sampling(plan.sampling_variants, jobs)
    return plan


def _job(config: dict[str, Any], name: str) -> PretrainJob:
    return resolve_variant(variant_bundle(config, name))


def _check_lengths(config: dict[str, Any], jobs: dict[str, PretrainJob]) -> None:
    """Tables IV and VI and the sampling ablation compare final weights of complete runs of
    the paper's length (``pretrain.epochs``: warm-up and cosine end at that last epoch); an
    intermediate checkpoint of a longer run sits high on its learning-rate schedule and is
    not the model the paper evaluates. Longer sweeps are separate variants (Fig. 5 only)."""
    length = config["pretrain"]["epochs"]
    off = {n: j.settings["epochs"] for n, j in jobs.items() if j.settings["epochs"] != length}
    if off:
        raise ConfigError(
            f"variants {off} are compared in Tables IV/VI, the sampling ablation or "
            "report.comparisons but do "
            f"not train pretrain.epochs ({length}) epochs; keep a longer run as its own variant "
            "for evaluation.sweep_variant (Fig. 5) only"
        )


def _check_sampling(names: list[str], jobs: dict[str, PretrainJob]) -> None:
    """The sampling ablation: one variant per training set, identical in everything else."""
    if not names:
        return
    sets = [jobs[n].train_set for n in names]
    if len(names) < 2 or len(set(sets)) != len(sets):
        raise ConfigError(
            "evaluation.sampling_variants needs one variant per training set, at least two "
            f"(have {dict(zip(names, sets, strict=True))})"
        )

    def shaping(job: PretrainJob) -> tuple[Any, ...]:  # what shapes the weights, bar the data
        return job.model, {k: v for k, v in job.settings.items() if k not in RUNTIME_KEYS}

    first = names[0]
    for name in names[1:]:
        if shaping(jobs[name]) != shaping(jobs[first]):
            raise ConfigError(
                f"evaluation.sampling_variants: {name} differs from {first} in more than "
                "its training set (model or pretrain settings), so the ablation would not "
                "isolate the sampling"
            )


def checkpoint_path(variant: str, epoch: str) -> str:
    name = "final" if epoch == "final" else f"ckpt_epoch{epoch}"
    return f"results/pretrain/{variant}/{name}.safetensors"


def task_dirs(tasks: list[str]) -> list[str]:
    """The GEO-Bench folders the downstream rules produce for ``tasks``."""
    return [f"results/geobench/{get_task(t).benchmark}/{t}" for t in tasks]


def sweep_epochs(config: dict[str, Any], variant: str) -> list[int]:
    """Every checkpoint epoch pretraining saves for ``variant`` (Fig. 5)."""
    return _job(config, variant).ckpt_epochs
