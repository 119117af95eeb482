# Stage 1-2: descriptors over the Major TOM grid, GA + random sampling, Table II, Fig. 3.
# Each rule gets the part of the `sampling` section its step reads (so tuning the GA does not
# re-run the descriptors) and the global seed.
SAMPLING_KEYS = {
    "archive": ["grid_km", "lat_range", "archive", "climate", "climate_names", "landcover"],
    "ga": ["grid_km", "target_per_stratum", "workers", "ga"],
    "random": [],
    "table2": ["table2"],
    "fig3": [],
}
SAMPLING_PARAMS = {
    step: json.dumps({key: config["sampling"][key] for key in keys}, sort_keys=True)
    for step, keys in SAMPLING_KEYS.items()
}
# The archive rule reads Major TOM metadata parquet(s) when the archive is Major TOM Core
# (paper.yaml) and nothing but the packaged rasters for the whole grid (default).


rule sampling_archive:
    input:
        lambda wc: (
            config["sampling"]["archive"]["metadata"]
            if config["sampling"]["archive"]["source"] == "metadata"
            else []
        ),
    output:
        "results/sampling/archive.parquet",
    params:
        csmoe=CSMOE,
        cfg=SAMPLING_PARAMS["archive"],
        seed=config["seed"],
    log:
        "results/logs/sampling/archive.log",
    conda:
        ENV
    shell:
        "{params.csmoe} sampling archive --params {params.cfg:q} --seed {params.seed} "
        "--out {output:q} > {log} 2>&1"


rule sampling_ga:
    input:
        archive="results/sampling/archive.parquet",
    output:
        "results/sampling/mtom_mu.parquet",
    params:
        csmoe=CSMOE,
        cfg=SAMPLING_PARAMS["ga"],
        seed=config["seed"],
    threads: config["sampling"]["workers"]
    log:
        "results/logs/sampling/ga.log",
    conda:
        ENV
    shell:
        "{params.csmoe} sampling ga --params {params.cfg:q} --seed {params.seed} "
        "--archive {input.archive:q} --out {output:q} > {log} 2>&1"


rule sampling_random:
    input:
        archive="results/sampling/archive.parquet",
        mtom_mu="results/sampling/mtom_mu.parquet",
    output:
        "results/sampling/mtom_r.parquet",
    params:
        csmoe=CSMOE,
        cfg=SAMPLING_PARAMS["random"],
        seed=config["seed"],
    log:
        "results/logs/sampling/random.log",
    conda:
        ENV
    shell:
        "{params.csmoe} sampling random --params {params.cfg:q} --seed {params.seed} "
        "--archive {input.archive:q} --mtom-mu {input.mtom_mu:q} --out {output:q} > {log} 2>&1"


rule sampling_table2:
    input:
        archive="results/sampling/archive.parquet",
        mtom_r="results/sampling/mtom_r.parquet",
        mtom_mu="results/sampling/mtom_mu.parquet",
    output:
        "results/table2.csv",
    params:
        csmoe=CSMOE,
        cfg=SAMPLING_PARAMS["table2"],
        seed=config["seed"],
    log:
        "results/logs/sampling/table2.log",
    conda:
        ENV
    shell:
        "{params.csmoe} sampling table2 --params {params.cfg:q} --seed {params.seed} "
        "--archive {input.archive:q} --mtom-r {input.mtom_r:q} --mtom-mu {input.mtom_mu:q} "
        "--out {output:q} > {log} 2>&1"


rule sampling_fig3:
    input:
        archive="results/sampling/archive.parquet",
        mtom_r="results/sampling/mtom_r.parquet",
        mtom_mu="results/sampling/mtom_mu.parquet",
    output:
        report(
            "results/fig3.png", caption="../report/fig3.rst", category="Sampling", subcategory="Figures"
        ),
    params:
        csmoe=CSMOE,
        cfg=SAMPLING_PARAMS["fig3"],
        seed=config["seed"],
    log:
        "results/logs/sampling/fig3.log",
    conda:
        ENV
    shell:
        "{params.csmoe} sampling fig3 --params {params.cfg:q} --seed {params.seed} "
        "--archive {input.archive:q} --mtom-r {input.mtom_r:q} --mtom-mu {input.mtom_mu:q} "
        "--out {output:q} > {log} 2>&1"
