# Shared set-up: config validation, MLflow store, helpers for thin rules.
import json
import shlex

from csmoe.config import validate_config


# the same validation as `csmoe --config`: defaults filled in, a one-line error naming the key
validate_config(config)

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
