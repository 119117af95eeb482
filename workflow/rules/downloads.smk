# downloads of the real archives (paper.yaml): resumable, retried, checksum-verified.
# Caches live under downloads.cache (not rule outputs), so a failed or interrupted job resumes.
DOWNLOADS = config["downloads"]


rule download_majortom_metadata:
    """A Major TOM Core product's metadata (also the sampling archive's input in paper.yaml)."""
    output:
        "results/downloads/Core-{product}/metadata.parquet",
    wildcard_constraints:
        product="S2L2A|S1RTC",
    params:
        csmoe=CSMOE,
        cfg=params_json("downloads"),
    log:
        "results/logs/downloads/majortom_metadata_{product}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} download majortom-metadata --params {params.cfg:q}"
        " --product {wildcards.product} --out {output:q} > {log} 2>&1"


rule download_raster:
    """A climate / land-cover raster listed in downloads.rasters."""
    output:
        "results/rasters/{name}",
    params:
        csmoe=CSMOE,
        cfg=params_json("downloads"),
    log:
        "results/logs/downloads/raster_{name}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} download raster --params {params.cfg:q} --name {wildcards.name:q}"
        " --out {output:q} > {log} 2>&1"


if config["data"]["majortom_source"] == "download":

    rule download_majortom:
        """Only the selected cells' rows of Major TOM Core (HTTP range reads)."""
        input:
            cells="results/sampling/{set}.parquet",
            s2="results/downloads/Core-S2L2A/metadata.parquet",
            s1="results/downloads/Core-S1RTC/metadata.parquet",
        output:
            directory("results/majortom/{set}"),
        wildcard_constraints:
            set="|".join(config["data"]["sets"]),
        params:
            csmoe=CSMOE,
            cfg=params_json("downloads"),
        log:
            "results/logs/downloads/majortom_{set}.log",
        conda:
            ENV
        shell:
            "{params.csmoe} download majortom --params {params.cfg:q} --cells {input.cells:q}"
            " --s2-metadata {input.s2:q} --s1-metadata {input.s1:q} --out {output:q}"
            " > {log} 2>&1"


if config["downstream"]["source"] == "download":

    rule download_geobench_task:
        output:
            directory("results/geobench/{benchmark}/{task}"),
        wildcard_constraints:
            benchmark="classification_v1.0|segmentation_v1.0",
        params:
            csmoe=CSMOE,
            cfg=params_json("downloads"),
        log:
            "results/logs/downloads/geobench_{benchmark}_{task}.log",
        conda:
            ENV
        shell:
            "{params.csmoe} download geobench --params {params.cfg:q} --task {wildcards.task:q}"
            " --out {output:q} > {log} 2>&1"

    rule download_benv2:
        output:
            directory("results/benv2"),
        params:
            csmoe=CSMOE,
            cfg=params_json("downloads"),
        log:
            "results/logs/downloads/benv2.log",
        conda:
            ENV
        shell:
            "{params.csmoe} download benv2 --params {params.cfg:q} --out {output:q} > {log} 2>&1"
