"""The domain-event outbox: what happened, written in the same transaction as the change.

A service that books a seat, cancels a session or promotes someone from a waitlist adds a row
here before its caller commits, so an event exists exactly when its change does. Periodic
detectors add the events no single change causes (a plan day passed), once each by ``dedupe_key``.
Dispatchers (notifications, the automation engine) read undispatched rows in id order and stamp
``dispatched_at``; nothing else writes this table.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, fk, utcnow
from app.models.identity import PlatformUser
from app.models.types import JSONDocument, UTCDateTime

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class DomainEvent(Model):
    __tablename__ = "domain_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A dotted name from the catalogue in app.services.events (e.g. "session.booked").
    # Indexed as the leading column of ix_domain_events_event_type_occurred_at.
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False, info={"personal": False})
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    # The customer the event is about, when there is one (automation rules match on customers).
    customer_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    # Ids, codes and measurements only (no names or free text). Personal: a metric event carries
    # the customer's measured value, which must not be copied into the immutable audit chain.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument(), nullable=False, info={"personal": True})
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Detected events (a plan day missed, an invoice overdue, an SLA breached) name what they are
    # about, e.g. "plan_item:42:2026-03-01": the unique index makes a second detection a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), info={"personal": False})

    customer: Mapped[PlatformUser | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.Index("uq_domain_events_event_type_dedupe_key", "event_type", "dedupe_key", unique=True),
        # A dry run replays one event type over a time window (and the events list filters by type).
        sa.Index("ix_domain_events_event_type_occurred_at", "event_type", "occurred_at"),
        # The dispatcher's queue: undispatched ids in order, however large the dispatched history grows.
        sa.Index(
            "ix_domain_events_undispatched",
            "id",
            postgresql_where=sa.text("dispatched_at IS NULL"),
            sqlite_where=sa.text("dispatched_at IS NULL"),
        ),
    )
