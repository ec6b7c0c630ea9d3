"""The refusals of the engagement services; ``status`` is the HTTP status an API view answers."""

from __future__ import annotations


class EngagementError(Exception):
    """Bad input (422 by default); ``field`` names the input at fault, when there is one."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotVisible(EngagementError):
    """No such row, or not one the acting person may see (the two are not told apart)."""

    status = 404


class Refused(EngagementError):
    """The person sees the row but may not do this to it."""

    status = 403
