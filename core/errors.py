"""Errors a user can cause; each message says what to fix."""
from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: bad input that the user can correct."""


class TenantError(WorkbenchError):
    """A tenant folder or one of its files is missing or malformed."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path, self.field, self.problem = path, field, problem
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {problem}")


class SegmentError(WorkbenchError):
    """A segment names an unknown facet or value, or is malformed."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        self.suggestions = suggestions or []
        if self.suggestions:
            message = f"{message} Did you mean: {', '.join(self.suggestions)}?"
        super().__init__(message)


class InputFileError(WorkbenchError):
    """A file given as input cannot be read as text (missing, a folder, unreadable, not UTF-8, too big)."""
