"""Why a scheduling request was refused, in words for the person who made it.

Every refusal carries an HTTP-like status so the calendar's JSON endpoints (and later the REST
API) answer with the right 4xx without mapping exceptions one by one, and a short machine code
the page's script can branch on ("conflict", "stale", ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SchedulingError(Exception):
    """A refused request; nothing was changed. ``message`` is translated, for the person."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.field:
            out["field"] = self.field
        out.update(self.details)
        return out


class NotFound(SchedulingError):
    """Unknown id, or a row outside the actor's scope (the two are not told apart)."""

    status = 404
    code = "not_found"


class Forbidden(SchedulingError):
    status = 403
    code = "forbidden"


class StaleEdit(SchedulingError):
    """Someone else changed the session since the person loaded it."""

    status = 409
    code = "stale"


@dataclass(frozen=True)
class Conflict:
    """One reason a create/move/resize clashes: ``kind`` is coach_busy, outside_availability or location_taken."""

    kind: str
    message: str
    session_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "session_id": self.session_id}


class ConflictError(SchedulingError):
    """The change clashes; ``overridable`` says whether this actor may save anyway."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, conflicts: list[Conflict], *, overridable: bool) -> None:
        super().__init__(message)
        self.conflicts = conflicts
        self.overridable = overridable

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        out["conflicts"] = [c.as_dict() for c in self.conflicts]
        out["overridable"] = self.overridable
        return out
