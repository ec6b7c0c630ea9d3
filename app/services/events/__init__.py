"""Domain events: what services announce, checked against the catalogue, into the outbox.

``emit`` adds a ``domain_events`` row to the caller's transaction, so an event exists exactly
when the change it describes is committed (a rolled-back booking announces nothing). It refuses
an event type the catalogue (``catalogue.py``) does not know and a payload its schema refuses:
a bad event is a programming error, caught where it is made rather than by a rule later.
Readers (the dispatcher in ``dispatch.py``, then the automation engine) take undispatched rows
in id order.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.events import DomainEvent
from app.services.events.catalogue import (  # noqa: F401  (the names services emit, re-exported)
    BADGE_AWARDED,
    CATALOGUE,
    CONSENT_REVOKED,
    EVENT_TYPES,
    INVOICE_OVERDUE,
    PAYMENT_FAILED,
    PLAN_ASSIGNED,
    PLAN_ITEM_COMPLETED,
    PLAN_ITEM_MISSED,
    PROGRESS_METRIC_RECORDED,
    SESSION_BOOKED,
    SESSION_BOOKING_CANCELLED,
    SESSION_CANCELLED,
    SESSION_NO_SHOW,
    SESSION_RESCHEDULED,
    SESSION_WAITLIST_PROMOTED,
    SESSION_WAITLISTED,
    SUBSCRIPTION_CANCELLED,
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_PAUSED,
    SUBSCRIPTION_RENEWED,
    SUPPORT_SLA_BREACHED,
    SUPPORT_TICKET_CREATED,
)


class EventRefused(ValueError):
    """An unknown event type, a payload its schema refuses, or a missing subject."""


def check_payload(event_type: str, payload: dict[str, Any]) -> None:
    """Refuse a payload its type's schema refuses (for a service that builds payloads in SQL)."""
    spec = CATALOGUE.get(event_type)
    if spec is None:
        raise EventRefused(f"unknown domain event type {event_type!r}")
    problems = spec.errors(payload)
    if problems:
        raise EventRefused(f"{event_type}: {'; '.join(problems)}")


def emit(session: Session, event_type: str, *, customer_id: uuid.UUID | None = None, **payload: Any) -> DomainEvent:
    """Add one event to the current transaction (flushed by the caller's flush or commit, not here).

    ``None`` values are left out of the payload (optional fields are absent, not null).
    """
    spec = CATALOGUE.get(event_type)
    if spec is None:
        raise EventRefused(f"unknown domain event type {event_type!r}")
    if customer_id is None and spec.subject_required:
        raise EventRefused(f"{event_type}: the customer it is about is required")
    body = plain(payload)
    problems = spec.errors(body)
    if problems:
        raise EventRefused(f"{event_type}: {'; '.join(problems)}")
    event = DomainEvent(event_type=event_type, customer_id=customer_id, payload=body)
    session.add(event)
    return event


def plain(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy: UUIDs, dates and datetimes as ISO strings, enums as values, decimals as numbers."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, uuid.UUID):
            out[key] = str(value)
        elif isinstance(value, dt.datetime):
            out[key] = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, decimal.Decimal):
            out[key] = int(value) if value == value.to_integral_value() else float(value)
        else:
            out[key] = value
    return out


def emit_many(session: Session, event_type: str, events: Sequence[tuple[uuid.UUID | None, dict[str, Any]]]) -> int:
    """Add many events of one type in one Core INSERT (bulk ingest): the same rules as ``emit``.

    For a service that writes hundreds of rows per call (metric ingest), where an ORM object and a
    JSON Schema run per event would cost more than the write itself. The payloads must all be built
    by one piece of code from already validated values, so the first is checked against the
    schema as the shape of all; every event's subject is checked. Returns the count.
    """
    if not events:
        return 0
    spec = CATALOGUE.get(event_type)
    if spec is None:
        raise EventRefused(f"unknown domain event type {event_type!r}")
    if spec.subject_required and any(customer_id is None for customer_id, _payload in events):
        raise EventRefused(f"{event_type}: the customer it is about is required")
    now = utcnow()
    payloads = [plain(payload) for _customer_id, payload in events]
    problems = spec.errors(payloads[0])
    if problems:
        raise EventRefused(f"{event_type}: {'; '.join(problems)}")
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # One JSON document, one statement text: no thousands of placeholders to parse and plan.
        document = json.dumps(
            [
                {"customer_id": None if c is None else str(c), "payload": p}
                for (c, _raw), p in zip(events, payloads, strict=True)
            ]
        )
        conn.execute(_PG_INSERT_MANY, {"event_type": event_type, "occurred_at": now, "rows": document})
    else:
        rows = [
            {"event_type": event_type, "occurred_at": now, "customer_id": customer_id, "payload": payload}
            for (customer_id, _payload), payload in zip(events, payloads, strict=True)
        ]
        conn.execute(sa.insert(DomainEvent.__table__), rows)
    return len(events)


_PG_INSERT_MANY = sa.text(
    "INSERT INTO domain_events (event_type, occurred_at, customer_id, payload) "
    "SELECT :event_type, :occurred_at, t.customer_id, t.payload "
    "FROM json_to_recordset(CAST(:rows AS json)) AS t(customer_id uuid, payload jsonb)"
)
