# HTML views of the CSV tables for the Snakemake report (`snakemake --report results/report.html`,
# `make report`): the report shows a CSV only as a download, an HTML page inline. One rule per
# table, each with its own caption (workflow/report/{name}.rst) and stage category. The default
# target builds the views of the tables it builds.
from pathlib import Path

# table name (results/{name}.csv) -> (title, report category)
REPORT_TABLES = {
    "table1": ("Table I: parameters, FLOPs and C2C of the models", "Models"),
    "table2": ("Table II: statistics of the sampled sets", "Sampling"),
    "table4": ("Table IV: CSMoE by patch size on GEO-Bench", "Evaluation"),
    "table5": ("Table V: [CLS] strategies", "Evaluation"),
    "table6": ("Table VI: CBIR F1 on BigEarthNet-v2", "Evaluation"),
    "table_sampling": ("Sampling ablation: MTomμ vs MTomr", "Evaluation"),
    "fig5": ("Fig. 5 data: normalised score per pretraining epoch", "Evaluation"),
    "table_knn": ("kNN probe (beyond the paper)", "Evaluation"),
    "comparisons": ("Paired comparisons of variants (beyond the paper)", "Comparisons"),
}
# fig5.csv is written with fig5.png
_BUILT = {Path(t).stem for t in config["targets"]}
REPORT_VIEWS = [f"results/report/{name}.html" for name in REPORT_TABLES if name in _BUILT]

for _name, (_title, _category) in REPORT_TABLES.items():

    rule:
        name:
            f"view_{_name}"
        input:
            f"results/{_name}.csv",
        output:
            report(
                f"results/report/{_name}.html",
                caption=f"../report/{_name}.rst",
                category=_category,
                subcategory="Tables",
            ),
        params:
            csmoe=CSMOE,
            title=_title,
        log:
            f"results/logs/report/view_{_name}.log",
        conda:
            ENV
        shell:
            "{params.csmoe} report view --csv {input:q} --title {params.title:q}"
            " --out {output:q} > {log} 2>&1"
