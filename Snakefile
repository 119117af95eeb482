# csmoe: CSMoE paper reproduction. Thin rules; all logic is in src/csmoe (the `csmoe` command).
from snakemake.utils import min_version

min_version("8.20")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/sampling.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/world.smk"
include: "workflow/rules/downloads.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/report_views.smk"


rule all:
    default_target: True
    input:
        config["targets"],
        REPORT_VIEWS,
