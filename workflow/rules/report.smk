# Tables IV-VI, the sampling ablation and Figs. 5-8 from the per-evaluation JSON files of
# evaluate.smk. Tables IV-VI and the ablation use final weights (complete runs of the paper's
# length); only Fig. 5 reads intermediate checkpoints, of its own sweep variant. Beyond the
# paper, the kNN table and the paired comparisons (their intervals read the per-sample .npz
# beside each JSON). Figures are marked for the Snakemake report; tables get HTML views in
# report_views.smk.
REPORT = config["report"]
SWEEP_EPOCHS = eval_targets.sweep_epochs(config, EVAL_PLAN.sweep_variant)


rule table4:
    """Patch-size sweep (Table IV) with Figs. 6/7; also waits for report.table4_requires so
    that `snakemake results/table4.csv` builds the whole evaluation."""
    input:
        probes=[
            f for v in EVAL_PLAN.table4_variants for f in EVAL_PLAN.probe_results(v, "final")
        ],
        required=REPORT["table4_requires"],
    output:
        table="results/table4.csv",
        fig6=report(
            "results/fig6.png",
            caption="../report/fig6.rst",
            category="Evaluation",
            subcategory="Figures",
        ),
        fig7=report(
            "results/fig7.png",
            caption="../report/fig7.rst",
            category="Evaluation",
            subcategory="Figures",
        ),
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
        strategy=EVAL_PLAN.strategy,
    log:
        "results/logs/report/table4.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report table4 --params {params.cfg:q} --strategy {params.strategy}"
        " --inputs {input.probes:q} --out {output.table:q} --fig6 {output.fig6:q}"
        " --fig7 {output.fig7:q} > {log} 2>&1"


rule table5:
    input:
        [
            f
            for s in EVAL_PLAN.strategies
            for f in EVAL_PLAN.probe_results(
                EVAL_PLAN.table5_variant, "final", EVAL_PLAN.cls_tasks, s
            )
        ],
    output:
        "results/table5.csv",
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
        variant=EVAL_PLAN.table5_variant,
    log:
        "results/logs/report/table5.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report table5 --params {params.cfg:q} --variant {params.variant}"
        " --inputs {input:q} --out {output:q} > {log} 2>&1"


rule table6:
    input:
        [
            f"results/cbir/{v}/{s}.json"
            for v in EVAL_PLAN.cbir_variants
            for s in EVAL_PLAN.cbir_sets
        ],
    output:
        "results/table6.csv",
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
    log:
        "results/logs/report/table6.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report table6 --params {params.cfg:q} --inputs {input:q} --out {output:q}"
        " > {log} 2>&1"


rule table_sampling:
    """Sampling ablation: the GA-sampled and the random training set, probed and retrieved
    like Table IV/VI's models, side by side with their difference."""
    input:
        probes=[
            f for v in EVAL_PLAN.sampling_variants for f in EVAL_PLAN.probe_results(v, "final")
        ],
        cbir=[
            f"results/cbir/{v}/{s}.json"
            for v in EVAL_PLAN.sampling_variants
            for s in EVAL_PLAN.cbir_sets
        ],
    output:
        "results/table_sampling.csv",
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
        strategy=EVAL_PLAN.strategy,
    log:
        "results/logs/report/table_sampling.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report table-sampling --params {params.cfg:q}"
        " --strategy {params.strategy} --probes {input.probes:q} --cbir {input.cbir:q}"
        " --out {output:q} > {log} 2>&1"


rule fig5:
    input:
        probes=[
            f for e in SWEEP_EPOCHS for f in EVAL_PLAN.probe_results(EVAL_PLAN.sweep_variant, e)
        ],
        # per-sample results beside each JSON: the bootstrap interval of the mean
        samples=[
            f
            for e in SWEEP_EPOCHS
            for f in eval_targets.samples_of(EVAL_PLAN.probe_results(EVAL_PLAN.sweep_variant, e))
        ],
        history=f"results/pretrain/{EVAL_PLAN.sweep_variant}/history.csv",
    output:
        csv="results/fig5.csv",
        png=report(
            "results/fig5.png",
            caption="../report/fig5.rst",
            category="Evaluation",
            subcategory="Figures",
        ),
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
        variant=EVAL_PLAN.sweep_variant,
    log:
        "results/logs/report/fig5.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report fig5 --params {params.cfg:q} --variant {params.variant}"
        " --inputs {input.probes:q} --history {input.history:q} --csv {output.csv:q}"
        " --png {output.png:q} > {log} 2>&1"


rule fig8:
    input:
        [
            f"results/probe/{v}/final/{REPORT['fig8_task']}/upernet_examples.npz"
            for v in EVAL_PLAN.table4_variants
        ],
    output:
        report(
            "results/fig8.png",
            caption="../report/fig8.rst",
            category="Evaluation",
            subcategory="Figures",
        ),
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
    log:
        "results/logs/report/fig8.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report fig8 --params {params.cfg:q} --examples {input:q} --out {output:q}"
        " > {log} 2>&1"


rule table_knn:
    """kNN probe (beyond the paper) on the final weights Table IV uses."""
    input:
        [
            f
            for v in EVAL_PLAN.table4_variants
            for f in EVAL_PLAN.knn_results(v, "final")
        ],
    output:
        "results/table_knn.csv",
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
    log:
        "results/logs/report/table_knn.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report knn --params {params.cfg:q} --inputs {input:q} --out {output:q}"
        " > {log} 2>&1"


COMPARED = sorted({v for pair in EVAL_PLAN.comparisons for v in pair})
COMPARED_RESULTS = [
    f
    for v in COMPARED
    for f in (*EVAL_PLAN.probe_results(v, "final"), *EVAL_PLAN.cbir_results(v))
]


rule comparisons:
    """Paired-bootstrap differences of report.comparisons (final weights): every task and
    every CBIR set and pair."""
    input:
        results=COMPARED_RESULTS,
        samples=eval_targets.samples_of(COMPARED_RESULTS),
    output:
        "results/comparisons.csv",
    params:
        csmoe=CSMOE,
        cfg=params_json("report"),
    log:
        "results/logs/report/comparisons.log",
    conda:
        ENV
    shell:
        "{params.csmoe} report comparisons --params {params.cfg:q} --inputs {input.results:q}"
        " --out {output:q} > {log} 2>&1"
