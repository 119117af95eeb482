# downstream datasets: GEO-Bench and BigEarthNet-v2 (generated or real)
# `downstream.source: generate` builds them here from the mini world's scenes; with `download`
# the rules of downloads.smk produce the same folders from the real archives instead.
from csmoe.data.geobench_format import TASKS as GEOBENCH_TASKS

DOWNSTREAM = config["downstream"]


# the task folders the config asks for: results/geobench/{benchmark}/{task}
GEOBENCH_FOLDERS = [
    f"results/geobench/{GEOBENCH_TASKS[t].benchmark}/{t}" for t in DOWNSTREAM["geobench"]["tasks"]
]


rule downstream_data:
    """All downstream sets of the config (generated or downloaded)."""
    input:
        GEOBENCH_FOLDERS,
        "results/benv2",


if DOWNSTREAM["source"] == "generate":

    rule geobench_task:
        input:
            cells=DOWNSTREAM["cells"],
        output:
            directory("results/geobench/{benchmark}/{task}"),
        wildcard_constraints:
            benchmark="classification_v1.0|segmentation_v1.0",
        params:
            csmoe=CSMOE,
            cfg=params_json("downstream"),
            seed=config["seed"],
        log:
            "results/logs/downstream/geobench_{benchmark}_{task}.log",
        conda:
            ENV
        shell:
            "{params.csmoe} downstream geobench --params {params.cfg:q} --seed {params.seed}"
            " --task {wildcards.task:q} --cells {input.cells:q} --out {output:q} > {log} 2>&1"

    rule benv2_world:
        input:
            cells=DOWNSTREAM["cells"],
        output:
            directory("results/benv2"),
        params:
            csmoe=CSMOE,
            cfg=params_json("downstream"),
            seed=config["seed"],
        log:
            "results/logs/downstream/benv2.log",
        conda:
            ENV
        shell:
            "{params.csmoe} downstream benv2 --params {params.cfg:q} --seed {params.seed}"
            " --cells {input.cells:q} --out {output:q} > {log} 2>&1"
