"""Load and validate the pipeline configuration (the same schema Snakemake validates against)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from csmoe.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"


def load_config(path: str | Path = DEFAULT_CONFIG) -> dict[str, Any]:
    """Read a YAML config, validate it and fill in the schema's defaults."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: config file not found") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from err
    if config is None:  # an empty file is more likely a lost config than "all defaults"
        raise ConfigError(f"{path}: config file is empty")
    return validate_config(config, source=str(path))


def validate_config(config: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Validate ``config`` in place against the schema, filling defaults; return it.

    The Snakefile calls this too, so a bad config gives the same one-line error there as
    in ``csmoe`` (naming the key path, and for an unknown key the allowed ones), not
    jsonschema's report with the whole schema in it.
    """
    from jsonschema.exceptions import best_match

    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the config must be a mapping, got {type(config).__name__}")
    error = best_match(_validator().iter_errors(config))
    if error is not None:
        raise ConfigError(f"{source}: {describe_error(error)}")
    _check_knn_fits(config, source)
    return config


def _check_knn_fits(config: dict[str, Any], source: str) -> None:
    """A kNN probe needs k training samples; on generated sets we know their number now,
    before hours of pretraining (real GEO-Bench splits hold hundreds or more)."""
    downstream = config.get("downstream", {})
    if downstream.get("source") != "generate":
        return
    train = downstream.get("geobench", {}).get("samples", {}).get("train")
    if train is None:
        return
    too_large = [k for k in config.get("evaluation", {}).get("knn", {}).get("k", []) if k > train]
    if too_large:
        raise ConfigError(
            f"{source}: evaluation.knn.k {too_large} exceeds downstream.geobench.samples.train "
            f"({train}): the kNN probe needs k training samples"
        )


def describe_error(error: Any) -> str:
    """One line for a jsonschema ``ValidationError``: the key path and what is wrong."""
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        prefix, under = (f"{where}.", f" under {where}") if error.absolute_path else ("", "")
        keys = ", ".join(f"{prefix}{k}" for k in unknown)
        return f"unknown key {keys} (allowed{under}: {', '.join(allowed)})"
    message = " ".join(error.message.split())
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{where}: {message}"


def _validator() -> Any:
    """A draft 2020-12 validator of the schema that fills in defaults as it goes
    (the jsonschema FAQ recipe, as ``snakemake.utils.validate(set_default=True)``)."""
    import copy

    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, schema)

    filling = validators.extend(Draft202012Validator, {"properties": set_defaults})
    return filling(yaml.safe_load(SCHEMA.read_text()))


def section(config: dict[str, Any], dotted: str) -> Any:
    """Return ``config['a']['b']`` for ``dotted='a.b'``, naming the missing key if absent."""
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise ConfigError(f"config has no key {dotted!r} (missing {key!r})")
        node = node[key]
    return node


def add_config_arguments(parser: Any, dotted_section: str) -> None:
    """Give a CLI command the two ways to get its settings.

    ``--params JSON`` is what Snakemake rules pass (the already-validated section, so a change
    in it re-runs the rule); ``--config FILE`` is for people running the command by hand.
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--params", help=f"JSON of the config section {dotted_section!r}")
    group.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="config YAML (default: %(default)s)"
    )
    parser.set_defaults(_config_section=dotted_section)


def resolve_params(args: Any) -> Any:
    """The config section for a command parsed with :func:`add_config_arguments`."""
    if getattr(args, "params", None):
        try:
            return json.loads(args.params)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--params is not valid JSON: {err}") from err
    return section(load_config(args.config), args._config_section)
