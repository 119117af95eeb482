# Pretraining: one rule per entry of config["variants"] (their checkpoint lists differ, and
# Snakemake outputs cannot depend on a wildcard's value). Training state that lets a killed
# job resume lives in pretrain.state_dir, outside the declared outputs (Snakemake deletes those).
import os

from csmoe.train.variants import resolve_variant, variant_bundle


for _name in config["variants"]:
    _bundle = variant_bundle(config, _name)
    _job = resolve_variant(_bundle)
    _out = f"results/pretrain/{_name}"

    rule:
        name:
            f"pretrain_{_name}"
        input:
            store=f"results/patches/{_job.train_set}/store.zarr",
            stats=f"results/patches/{_job.train_set}/stats.json",
        output:
            ckpts=[f"{_out}/ckpt_epoch{e}.safetensors" for e in _job.ckpt_epochs],
            final=f"{_out}/final.safetensors",
            history=f"{_out}/history.csv",
            curve=report(
                f"{_out}/loss_curve.png",
                caption="../report/loss_curve.rst",
                category="Pretraining",
                labels={"variant": _name, "train set": _job.train_set},
            ),
        params:
            csmoe=CSMOE,
            cfg=json.dumps(_bundle, sort_keys=True),
            variant=_name,
            out=lambda wildcards, output: os.path.dirname(output.final),
            state=f"{_job.settings['state_dir']}/{_name}",
        log:
            f"results/logs/pretrain/{_name}.log",
        threads: _job.threads
        resources:
            **_job.resources(),
        conda:
            ENV
        shell:
            "{params.csmoe} pretrain run --variant {params.variant} --params {params.cfg:q}"
            " --store {input.store} --stats {input.stats} --out {params.out}"
            " --state {params.state} > {log} 2>&1"


rule benv2_train_store:
    """BigEarthNet-v2 pairs (benv2_train_set) as the patch store of variants with
    train_set: benv2 (the CSMAE baseline pretrained on BigEarthNet-v2)."""
    input:
        benv2="results/benv2",
    output:
        store=directory("results/patches/benv2/store.zarr"),
        stats="results/patches/benv2/stats.json",
    params:
        csmoe=CSMOE,
        cfg=params_json("benv2_train_set"),
        layout=params_json("data", "extract"),
        seed=config["seed"],
    log:
        "results/logs/data/benv2_store.log",
    conda:
        ENV
    shell:
        "{params.csmoe} pretrain benv2-store --benv2 {input.benv2:q} --store {output.store:q}"
        " --stats {output.stats:q} --seed {params.seed} --params {params.cfg:q}"
        " --layout {params.layout:q} > {log:q} 2>&1"


rule pretrain_all:
    input:
        [f"results/pretrain/{name}/final.safetensors" for name in config["variants"]],
