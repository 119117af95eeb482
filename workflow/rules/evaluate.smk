# Downstream evaluation (paper III-C): probing on GEO-Bench, CBIR on BigEarthNet-v2.
# One job per (variant, epoch, task): frozen features are cached beside the results
# (results/probe/.../cache, outside the declared outputs so a rerun keeps them), then every
# [CLS] strategy of evaluation.strategies gets its linear head, or the task its UPerNet head.
from csmoe.evaluation import targets as eval_targets
from csmoe.train.variants import variant_bundle

EVAL_PLAN = eval_targets.eval_plan(config)


rule probe_linear:
    input:
        ckpt=lambda wc: eval_targets.checkpoint_path(wc.variant, wc.epoch),
        task=lambda wc: eval_targets.task_dir(wc.task),
    output:
        expand(
            "results/probe/{{variant}}/{{epoch}}/{{task}}/{s}.json", s=EVAL_PLAN.strategies
        ),
    wildcard_constraints:
        task=eval_targets.alternatives(EVAL_PLAN.cls_tasks),
        epoch=r"final|\d+",
    params:
        csmoe=CSMOE,
        cfg=params_json("evaluation"),
        bundle=lambda wc: json.dumps(variant_bundle(config, wc.variant), sort_keys=True),
    log:
        "results/logs/evaluation/probe_{variant}_{epoch}_{task}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} evaluate probe --params {params.cfg:q} --bundle {params.bundle:q}"
        " --checkpoint {input.ckpt:q} --variant {wildcards.variant} --epoch {wildcards.epoch}"
        " --task {wildcards.task} --geobench results/geobench"
        " --out-dir results/probe/{wildcards.variant}/{wildcards.epoch}/{wildcards.task}"
        " > {log} 2>&1"


rule probe_upernet:
    input:
        ckpt=lambda wc: eval_targets.checkpoint_path(wc.variant, wc.epoch),
        task=lambda wc: eval_targets.task_dir(wc.task),
    output:
        result="results/probe/{variant}/{epoch}/{task}/upernet.json",
        examples="results/probe/{variant}/{epoch}/{task}/upernet_examples.npz",
    wildcard_constraints:
        task=eval_targets.alternatives(EVAL_PLAN.seg_tasks),
        epoch=r"final|\d+",
    params:
        csmoe=CSMOE,
        cfg=params_json("evaluation"),
        bundle=lambda wc: json.dumps(variant_bundle(config, wc.variant), sort_keys=True),
    log:
        "results/logs/evaluation/probe_{variant}_{epoch}_{task}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} evaluate probe --params {params.cfg:q} --bundle {params.bundle:q}"
        " --checkpoint {input.ckpt:q} --variant {wildcards.variant} --epoch {wildcards.epoch}"
        " --task {wildcards.task} --geobench results/geobench"
        " --out-dir results/probe/{wildcards.variant}/{wildcards.epoch}/{wildcards.task}"
        " > {log} 2>&1"


rule cbir:
    input:
        ckpt="results/pretrain/{variant}/final.safetensors",
        benv2="results/benv2",
    output:
        "results/cbir/{variant}/{set}.json",
    wildcard_constraints:
        set=eval_targets.alternatives(EVAL_PLAN.cbir_sets),
    params:
        csmoe=CSMOE,
        cfg=params_json("evaluation"),
        bundle=lambda wc: json.dumps(variant_bundle(config, wc.variant), sort_keys=True),
    log:
        "results/logs/evaluation/cbir_{variant}_{set}.log",
    conda:
        ENV
    shell:
        "{params.csmoe} evaluate cbir --params {params.cfg:q} --bundle {params.bundle:q}"
        " --checkpoint {input.ckpt:q} --variant {wildcards.variant} --set {wildcards.set}"
        " --benv2 {input.benv2:q} --out {output:q} > {log} 2>&1"
