"""The one family of errors inrview raises on purpose.

Every message names the file (when there is one) and the problem in one line, so the command line can
print it as is and the app can show it in a dialog.
"""

from __future__ import annotations

import os


class InrviewError(Exception):
    """Base of every error inrview raises for bad input or a failed operation."""


class LoadError(InrviewError):
    """A file could not be turned into geometry or an image."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}")


class CheckpointError(LoadError):
    """A checkpoint is missing, malformed, or does not match its own header."""


class TrainingError(InrviewError):
    """Training could not continue (non-finite loss that could not be recovered, no device)."""


class NoSurfaceError(InrviewError):
    """The field has no zero crossing in the extraction volume yet."""
