# Downstream evaluation (paper III-C): probing on GEO-Bench, CBIR on BigEarthNet-v2.
# One probe job per checkpoint (variant, epoch) covers every task of evaluation.tasks, so the
# checkpoint is loaded once; frozen features are cached beside the results
# (results/probe/.../cache, outside the declared outputs: a rerun keeps them). Every [CLS]
# strategy of evaluation.strategies gets its linear head, each segmentation task a UPerNet.
from csmoe.evaluation import targets as eval_targets
from csmoe.train.variants import variant_bundle

EVAL_PLAN = eval_targets.eval_plan(config)


rule probe:
    input:
        ckpt=lambda wc: eval_targets.checkpoint_path(wc.variant, wc.epoch),
        tasks=eval_targets.task_dirs(EVAL_PLAN.tasks),
    output:
        EVAL_PLAN.probe_outputs(),
    wildcard_constraints:
        epoch=r"final|\d+",
    params:
        csmoe=CSMOE,
        cfg=params_json("evaluation"),
        bundle=lambda wc: json.dumps(variant_bundle(config, wc.variant), sort_keys=True),
        tasks=EVAL_PLAN.tasks,
    log:
        "results/logs/evaluation/probe_{variant}_{epoch}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} evaluate probe --params {params.cfg:q} --bundle {params.bundle:q}"
        " --checkpoint {input.ckpt:q} --variant {wildcards.variant} --epoch {wildcards.epoch}"
        " --tasks {params.tasks:q} --geobench results/geobench"
        " --out-dir results/probe/{wildcards.variant}/{wildcards.epoch} > {log} 2>&1"


rule cbir:
    input:
        ckpt="results/pretrain/{variant}/final.safetensors",
        benv2="results/benv2",
    output:
        EVAL_PLAN.cbir_results("{variant}"),
        eval_targets.samples_of(EVAL_PLAN.cbir_results("{variant}")),
    params:
        csmoe=CSMOE,
        cfg=params_json("evaluation"),
        bundle=lambda wc: json.dumps(variant_bundle(config, wc.variant), sort_keys=True),
        sets=EVAL_PLAN.cbir_sets,
    log:
        "results/logs/evaluation/cbir_{variant}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} evaluate cbir --params {params.cfg:q} --bundle {params.bundle:q}"
        " --checkpoint {input.ckpt:q} --variant {wildcards.variant} --sets {params.sets:q}"
        " --benv2 {input.benv2:q} --out-dir results/cbir/{wildcards.variant} > {log} 2>&1"
