# Shared set-up: config validation, MLflow store, helpers for thin rules.
import json
import shlex

from snakemake.utils import validate


validate(config, "../schemas/config.schema.yaml", set_default=True)

# every job logs into one MLflow store: rules run "{CSMOE} <command> ..."
CSMOE = "csmoe --mlflow-uri {} --mlflow-artifacts {}".format(
    shlex.quote(config["mlflow"]["uri"]), shlex.quote(config["mlflow"]["artifacts"])
)

ENV = "../../envs/csmoe.yaml"


def params_json(*keys):
    """The config section at `keys` as JSON: rules pass it to `csmoe --params`, so a change
    to that section (and only to it) re-runs the rule."""
    node = config
    for key in keys:
        node = node[key]
    return json.dumps(node, sort_keys=True)


onstart:
    shell("{CSMOE} tracking init")


onerror:
    # one line per failed SLURM job: rule, job id, why (memory, time limit, cancelled, refused
    # at submission), logs; without accounting the executor plugin cannot say why
    shell("csmoe --log-level WARNING cluster explain --snakemake-log {log:q}")
