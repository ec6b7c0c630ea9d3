"""Factories shared by the schedule service tests: coaches, staff actors, open availability, sessions."""

from __future__ import annotations

import datetime as dt
import uuid

from app.extensions import db
from app.models.identity import RoleCode
from app.models.scheduling import (
    AttendanceStatus,
    AvailabilityException,
    AvailabilityExceptionKind,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionType,
)
from app.policy.scope import Actor
from app.services.scheduling.sessions import SessionDraft
from tests.support.plan_support import make_customer, make_user

UTC = dt.UTC
# A Monday well in the future; tests pass ``now`` explicitly so nothing depends on the clock.
MONDAY = dt.datetime(2031, 3, 3, tzinfo=UTC)
NOW = MONDAY - dt.timedelta(days=7)


def coach(name: str = "Coach A") -> Actor:
    user = make_user(name, RoleCode.COACH)
    db.session.commit()
    return Actor(user.id, frozenset({"Coach"}))


def staff(role: str) -> Actor:
    code = RoleCode.SUPPORT if role == "Support" else RoleCode.ADMIN
    user = make_user(f"{role} Person", code)
    db.session.commit()
    return Actor(user.id, frozenset({role}))


def open_availability(coach_id: uuid.UUID, start: dt.datetime = NOW, days: int = 400) -> None:
    """An EXTRA exception covering ``days`` from ``start``: no session is outside availability."""
    db.session.add(
        AvailabilityException(
            coach_id=coach_id,
            kind=AvailabilityExceptionKind.EXTRA,
            starts_at=start,
            ends_at=start + dt.timedelta(days=days),
        )
    )
    db.session.commit()


def draft(coach_id: uuid.UUID | None, start: dt.datetime, minutes: int = 60, **extra) -> SessionDraft:
    values = {
        "title": "Strength class",
        "session_type": SessionType.CLASS,
        "start": start,
        "end": start + dt.timedelta(minutes=minutes),
        "timezone": "Europe/Madrid",
        "capacity": 10,
        "coach_id": coach_id,
        "location": None,
        "join_link": None,
    }
    values.update(extra)
    return SessionDraft(**values)


def plain_session(coach_id: uuid.UUID, start: dt.datetime, minutes: int = 60, **extra) -> ScheduledSession:
    """A session row written directly (bulk set-ups for read tests)."""
    values = {
        "title": "Session",
        "session_type": SessionType.CLASS,
        "start_time": start,
        "end_time": start + dt.timedelta(minutes=minutes),
        "timezone": "UTC",
        "capacity": 5,
        "coach_id": coach_id,
    }
    values.update(extra)
    row = ScheduledSession(**values)
    db.session.add(row)
    return row


def book(session_id: int, customer_id: uuid.UUID, role: ParticipantRole, status=AttendanceStatus.REGISTERED) -> None:
    db.session.add(
        SessionParticipant(session_id=session_id, customer_id=customer_id, role=role, attendance_status=status)
    )


def customer(name: str, coach_id: uuid.UUID | None = None) -> uuid.UUID:
    return make_customer(name, coach_id=coach_id)
