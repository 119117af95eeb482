"""The one exception type the CLI turns into a clean one-line error."""

from __future__ import annotations


class CsmoeError(Exception):
    """A user-facing error: bad input, bad config, missing file. Message names the culprit."""


class InputError(CsmoeError):
    """An input file is missing, corrupt, or not what the stage expects."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ConfigError(CsmoeError):
    """The configuration is invalid or asks for something impossible."""
