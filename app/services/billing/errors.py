"""Refusals of the billing services: a translated message, the input field it concerns, an HTTP status."""

from __future__ import annotations

from typing import Any


class BillingError(Exception):
    """Bad input or a refused operation; nothing was changed. ``status`` is for the web layer (400 or 409)."""

    status = 400

    def __init__(self, message: Any, *, field: str | None = None, code: str = "invalid"):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code


class TransitionRefused(BillingError):
    """The subscription's current state does not allow this transition."""

    status = 409

    def __init__(self, message: Any, *, code: str = "transition_not_allowed"):
        super().__init__(message, code=code)


class NotFound(BillingError):
    status = 404

    def __init__(self, message: Any):
        super().__init__(message, code="not_found")
