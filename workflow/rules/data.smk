# data stage rules (see docs/ARCHITECTURE.md): Major TOM tiles of each sampled set -> patch store
_SETS = "|".join(config["data"]["sets"])


if config["data"]["majortom_source"] == "generate":

    rule majortom_world:
        """The mini world's Major TOM Core-format tiles for the sampled cells of one set."""
        input:
            cells="results/sampling/{set}.parquet",
        output:
            directory("results/majortom/{set}"),
        wildcard_constraints:
            set=_SETS,
        params:
            csmoe=CSMOE,
            cfg=params_json("data", "world"),
            seed=config["seed"],
        log:
            "results/logs/data/world_{set}.log",
        threads: max(1, config["data"]["world"]["workers"])
        conda:
            ENV
        shell:
            "{params.csmoe} data world --cells {input.cells:q} --out {output:q} --seed {params.seed}"
            " --params {params.cfg:q} > {log:q} 2>&1"


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
