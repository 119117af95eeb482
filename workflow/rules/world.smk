# the generated mini world (see docs/ARCHITECTURE.md): its Major TOM tiles when
# `data.majortom_source: generate`, its GEO-Bench and BigEarthNet-v2 sets when
# `downstream.source: generate`. With `download` the rules of downloads.smk produce the same
# folders from the real archives instead.


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
            "results/logs/world/majortom_{set}.log",
        threads: max(1, config["data"]["world"]["workers"])
        conda:
            ENV
        shell:
            "{params.csmoe} world majortom --cells {input.cells:q} --out {output:q}"
            " --seed {params.seed} --params {params.cfg:q} > {log:q} 2>&1"


if DOWNSTREAM["source"] == "generate":

    rule geobench_task:
        """One GEO-Bench task drawn from the mini world's scenes."""
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
            "results/logs/world/geobench_{benchmark}_{task}.log",
        conda:
            ENV
        shell:
            "{params.csmoe} world geobench --params {params.cfg:q} --seed {params.seed}"
            " --task {wildcards.task:q} --cells {input.cells:q} --out {output:q} > {log} 2>&1"

    rule benv2_world:
        """The BigEarthNet-v2 set drawn from the mini world's scenes."""
        input:
            cells=DOWNSTREAM["cells"],
        output:
            directory("results/benv2"),
        params:
            csmoe=CSMOE,
            cfg=params_json("downstream"),
            seed=config["seed"],
        log:
            "results/logs/world/benv2.log",
        conda:
            ENV
        shell:
            "{params.csmoe} world benv2 --params {params.cfg:q} --seed {params.seed}"
            " --cells {input.cells:q} --out {output:q} > {log} 2>&1"
