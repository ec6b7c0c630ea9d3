"""Factories for the booking engine's tests, and the roster invariants every test (and the demo) must keep."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict

import sqlalchemy as sa

from app.extensions import db
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionStatus,
    SessionType,
    WaitlistEntry,
)
from app.services.scheduling.rules import BookingRules

RULES = BookingRules(promotion_cutoff=dt.timedelta(hours=1), late_cancel_window=dt.timedelta(hours=12))
RELEASED = {AttendanceStatus.CANCELLED, AttendanceStatus.LATE_CANCEL}


def make_session(
    coach_id: uuid.UUID | None,
    start: dt.datetime,
    *,
    capacity: int = 2,
    minutes: int = 60,
    status: SessionStatus = SessionStatus.SCHEDULED,
    title: str = "Spin",
) -> int:
    session = ScheduledSession(
        session_type=SessionType.CLASS,
        start_time=start,
        end_time=start + dt.timedelta(minutes=minutes),
        capacity=capacity,
        coach_id=coach_id,
        title=title,
        status=status,
    )
    db.session.add(session)
    db.session.commit()
    return session.id


def invariant_problems() -> list[str]:
    """Every way the rosters disagree with the booking rules (empty when all is well).

    - no session has more seats held than its capacity;
    - a WAITLIST participant has exactly one entry, not promoted; a PRIMARY participant's entry (if
      any) is promoted; every entry has its participant (the foreign key guarantees that);
    - no customer holds seats in two overlapping live sessions;
    - a cancelled session holds no seat and no queue; a promoted entry joined before it was promoted.
    """
    problems: list[str] = []
    sessions = {s.id: s for s in db.session.scalars(sa.select(ScheduledSession))}
    parts = list(db.session.scalars(sa.select(SessionParticipant)))
    entries = {(e.session_id, e.customer_id): e for e in db.session.scalars(sa.select(WaitlistEntry))}
    held: Counter[int] = Counter()
    seats_of: dict[uuid.UUID, list[ScheduledSession]] = defaultdict(list)
    for p in parts:
        s = sessions[p.session_id]
        entry = entries.get((p.session_id, p.customer_id))
        if p.role == ParticipantRole.WAITLIST:
            if entry is None or entry.promoted_at is not None:
                problems.append(f"waitlisted participant {p.id} has no open entry")
            if s.status == SessionStatus.CANCELLED:
                problems.append(f"cancelled session {s.id} keeps a queue")
        else:
            if entry is not None and entry.promoted_at is None:
                problems.append(f"participant {p.id} holds a seat but is still queued")
            if p.attendance_status not in RELEASED:
                held[p.session_id] += 1
                if s.status == SessionStatus.CANCELLED:
                    problems.append(f"cancelled session {s.id} has a live seat")
                else:
                    seats_of[p.customer_id].append(s)
        if entry is not None and entry.promoted_at is not None and entry.promoted_at < entry.joined_at:
            problems.append(f"entry {entry.id} promoted before it joined")
    for sid, n in held.items():
        if n > sessions[sid].capacity:
            problems.append(f"session {sid} holds {n} seats for capacity {sessions[sid].capacity}")
    for customer, booked in seats_of.items():
        booked.sort(key=lambda s: s.start_time)
        for a, b in zip(booked, booked[1:], strict=False):
            if b.start_time < a.end_time:
                problems.append(f"customer {customer} holds seats in overlapping sessions {a.id} and {b.id}")
    keys = {(p.session_id, p.customer_id) for p in parts}
    problems += [f"entry for {key} has no participant" for key in entries if key not in keys]
    return problems
