"""Domain events: the catalogue of what services announce, and the outbox they write it to.

``emit`` adds a ``domain_events`` row to the caller's transaction, so an event exists exactly
when the change it describes is committed (a rolled-back booking announces nothing). Readers
(notifications, the automation engine of issue 14) take undispatched rows in id order.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.models.events import DomainEvent

# The catalogue: every event type a service may emit. Payloads carry ids and codes only.
SESSION_BOOKED = "session.booked"
SESSION_WAITLISTED = "session.waitlisted"
SESSION_BOOKING_CANCELLED = "session.booking_cancelled"
SESSION_WAITLIST_PROMOTED = "session.waitlist_promoted"
SESSION_CANCELLED = "session.cancelled"
SESSION_NO_SHOW = "session.no_show"
SESSION_RESCHEDULED = "session.rescheduled"

EVENT_TYPES = frozenset(
    {
        SESSION_BOOKED,
        SESSION_WAITLISTED,
        SESSION_BOOKING_CANCELLED,
        SESSION_WAITLIST_PROMOTED,
        SESSION_CANCELLED,
        SESSION_NO_SHOW,
        SESSION_RESCHEDULED,
    }
)


def emit(session: Session, event_type: str, *, customer_id: uuid.UUID | None = None, **payload: Any) -> DomainEvent:
    """Add one event to the current transaction (flushed by the caller's commit, not here)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {event_type!r}")
    event = DomainEvent(event_type=event_type, customer_id=customer_id, payload=_plain(payload))
    session.add(event)
    return event


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy: UUIDs and datetimes as strings (the column is JSON on both databases)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, uuid.UUID):
            out[key] = str(value)
        elif hasattr(value, "isoformat"):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out
