# Shared set-up: config validation, MLflow store, helpers for thin rules.
import json
import os
import shlex
import sys

from csmoe.config import validate_config


# the same validation as `csmoe --config`: defaults filled in, a one-line error naming the key
validate_config(config)


# PATH is read (and extended) below; declared so that remote jobs get it too
envvars:
    "PATH",


# Rules run `csmoe`. `.venv/bin/snakemake` started without activating the venv has no `csmoe`
# on PATH: the one installed beside the Python running Snakemake is the one meant. Appended,
# not prepended, so a `csmoe` already on PATH still wins, and so does the environment that
# `--sdm conda` activates for a job (activation puts its bin folder first).
_OWN_BIN = os.path.dirname(sys.executable)
if _OWN_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(filter(None, [os.environ.get("PATH"), _OWN_BIN]))

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
