# data stage rules (see docs/ARCHITECTURE.md): Major TOM tiles of each sampled set -> patch
# store; the downstream sets the config asks for. The tiles and sets themselves come from
# world.smk (generated) or downloads.smk (real archives).
from csmoe.data.geobench_format import TASKS as GEOBENCH_TASKS

_SETS = "|".join(config["data"]["sets"])
DOWNSTREAM = config["downstream"]
# the task folders the config asks for: results/geobench/{benchmark}/{task}
GEOBENCH_FOLDERS = [
    f"results/geobench/{GEOBENCH_TASKS[t].benchmark}/{t}" for t in DOWNSTREAM["geobench"]["tasks"]
]


rule patch_store:
    """120 px patches of one set's tiles: the training store and its stats."""
    input:
        tiles="results/majortom/{set}",
    output:
        store=directory("results/patches/{set}/store.zarr"),
        stats="results/patches/{set}/stats.json",
    wildcard_constraints:
        set=_SETS,
    params:
        csmoe=CSMOE,
        cfg=params_json("data", "extract"),
        seed=config["seed"],
    log:
        "results/logs/data/extract_{set}.log",
    threads: max(1, config["data"]["extract"]["workers"])
    conda:
        ENV
    shell:
        "{params.csmoe} data extract --tiles {input.tiles:q} --store {output.store:q}"
        " --stats {output.stats:q} --seed {params.seed} --params {params.cfg:q} > {log:q} 2>&1"


rule downstream_data:
    """All downstream sets of the config (generated or downloaded)."""
    input:
        GEOBENCH_FOLDERS,
        "results/benv2",
