# models stage rules (see docs/ARCHITECTURE.md): Table I from the complexity account.


rule table1:
    output:
        "results/table1.csv",
    log:
        "results/logs/models/table1.log",
    params:
        csmoe=CSMOE,
        cfg=params_json("models"),
    conda:
        ENV
    shell:
        "{params.csmoe} models table1 --params {params.cfg:q} --output {output} > {log} 2>&1"
