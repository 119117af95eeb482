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
        config = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: config file not found") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    return validate_config(config, source=str(path))


def validate_config(config: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Validate ``config`` in place against the schema, filling defaults; return it."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(SCHEMA), set_default=True)
    except WorkflowError as err:
        raise ConfigError(f"{source}: {err}") from err
    return config


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
