"""The exception types the CLI turns into a clean one-line error."""

from __future__ import annotations

from typing import Any


def brief(err: BaseException, limit: int = 200) -> str:
    """The gist of a library's exception on one line (some span pages: torch, pyarrow, GDAL)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CsmoeError(Exception):
    """A user-facing error: bad input, bad config, missing file. Message names the culprit."""


class _PathError(CsmoeError):
    """An error about one file: ``path`` and ``problem``, shown as ``path: problem``."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        # the default rebuilds from ``args`` (the one message) and fails on the two-argument
        # constructor: an error raised in a worker process could then never reach the parent
        return type(self), (self.path, self.problem)


class InputError(_PathError):
    """An input file is missing, corrupt, or not what the stage expects."""


class OutputError(_PathError):
    """An output cannot be written (disk full, read-only or forbidden folder)."""


class ConfigError(CsmoeError):
    """The configuration is invalid or asks for something impossible."""
