"""The errors the training services end with; ``status`` is the HTTP status a view answers.

They sit below every training module so the program and plan modules can raise
each other's errors without importing each other.
"""

from __future__ import annotations

from typing import Any


class ProgramError(Exception):
    """Base of the errors a save can end with; ``status`` is the HTTP status a view should answer."""

    status = 400

    def __init__(self, message: str, *, item: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.item = item
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "item": self.item, "field": self.field}


class ProgramNotFound(ProgramError):
    status = 404


class ProgramForbidden(ProgramError):
    status = 403


class ProgramConflict(ProgramError):
    status = 409

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "current_version": self.current_version}


class PlanError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "field": self.field}


class PlanNotFound(PlanError):
    status = 404
