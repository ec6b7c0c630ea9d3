"""Reading a roster and recording what happened at a session; the promotion step the engine shares.

``roster`` and ``seat_counts`` read (the calendar's panel and its events' fill); ``mark_attendance``
and ``set_feedback`` change a seat after (or, for a late cancel, shortly before) the session;
``promote_locked`` is the one promotion rule, called by ``booking`` with the session row locked.
The rules themselves are described in ``app.services.scheduling.booking``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from app.i18n import service_gettext as _
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionStatus,
    WaitlistEntry,
)
from app.policy.roles import READ
from app.policy.scope import Actor
from app.services import events
from app.services.scheduling.errors import NotFound, SchedulingError
from app.services.scheduling.rules import (
    RELEASED,
    BookingRules,
    get_session,
    holds_seat,
    now_or,
    overlapping_seat,
    require,
    seats_held,
)

# What attendance marking may set; a cancellation goes through cancel_booking (it frees the seat).
MARKABLE = (
    AttendanceStatus.ATTENDED,
    AttendanceStatus.NO_SHOW,
    AttendanceStatus.LATE_CANCEL,
    AttendanceStatus.REGISTERED,
)
MAX_MARKED = 1000
_ENTRY_PEOPLE = (lazyload(WaitlistEntry.customer),)
# Relations loaded only when read: the engine's own queries need the rows, not the joined people.
_NO_JOINS = (
    lazyload(SessionParticipant.session),
    lazyload(SessionParticipant.customer),
    lazyload(WaitlistEntry.session),
    lazyload(WaitlistEntry.customer),
)


@dataclass
class Roster:
    session: ScheduledSession
    booked: list[SessionParticipant]  # seats held, in booking order
    waitlist: list[tuple[SessionParticipant, WaitlistEntry]]  # in queue order
    cancelled: list[SessionParticipant]  # cancelled and late-cancelled seats


def roster(db: Session, actor: Actor, session_id: int) -> Roster:
    """Who holds a seat, who waits (in order) and who cancelled, for a session the actor may see."""
    actor = Actor.of(actor)
    require(actor, "SessionParticipants", READ)
    session = get_session(db, actor, session_id)
    rows = db.execute(
        sa.select(SessionParticipant, WaitlistEntry)
        .options(lazyload(SessionParticipant.session), lazyload(WaitlistEntry.session), *_ENTRY_PEOPLE)
        .outerjoin(
            WaitlistEntry,
            sa.and_(
                WaitlistEntry.session_id == SessionParticipant.session_id,
                WaitlistEntry.customer_id == SessionParticipant.customer_id,
            ),
        )
        .where(SessionParticipant.session_id == session.id)
        .order_by(SessionParticipant.booked_at, SessionParticipant.id)
    ).all()
    booked, cancelled, waiting = [], [], []
    for row, entry in rows:
        if row.role == ParticipantRole.WAITLIST:
            if entry is not None:
                waiting.append((row, entry))
        elif row.attendance_status in RELEASED:
            cancelled.append(row)
        else:
            booked.append(row)
    waiting.sort(key=lambda pair: (pair[1].joined_at, pair[1].id))
    return Roster(session=session, booked=booked, waitlist=waiting, cancelled=cancelled)


def seat_counts(db: Session, session_ids: Sequence[int] | sa.Select) -> dict[int, tuple[int, int]]:
    """``session_id -> (seats held, customers waiting)`` in one GROUP BY (an index-only scan on PostgreSQL).

    ``session_ids`` is a list (every id asked gets an entry) or a SELECT of ids: the calendar passes
    its events window as a subquery, since thousands of bound ids cost more to send than the
    database takes to find them again. No scope check: the caller passes ids it read through row scope.
    """
    if isinstance(session_ids, sa.Select):
        where, counts = SessionParticipant.session_id.in_(session_ids.scalar_subquery()), {}
    else:
        ids = list(dict.fromkeys(int(i) for i in session_ids))
        if not ids:
            return {}
        where, counts = SessionParticipant.session_id.in_(ids), dict.fromkeys(ids, (0, 0))
    stmt = (
        sa.select(
            SessionParticipant.session_id,
            sa.func.count().filter(holds_seat()),
            sa.func.count().filter(
                SessionParticipant.role == ParticipantRole.WAITLIST,
                SessionParticipant.attendance_status.not_in(RELEASED),
            ),
        )
        .where(where)
        .group_by(SessionParticipant.session_id)
    )
    for session_id, held, waiting in db.connection().execute(stmt):
        counts[session_id] = (int(held or 0), int(waiting or 0))
    return counts


def mark_attendance(
    db: Session,
    actor: Actor,
    session_id: int,
    customer_ids: Sequence[uuid.UUID],
    status: AttendanceStatus,
    *,
    now: dt.datetime | None = None,
    rules: BookingRules | None = None,
) -> int:
    """Set the attendance of booked customers, one or many (all or none); returns how many changed.

    ATTENDED and NO_SHOW only once the session has started; LATE_CANCEL frees the seat (promoting
    from the queue when ``rules`` is given and the cutoff allows); REGISTERED undoes a mark, and
    re-seats a late cancel only while a seat is free. Each new NO_SHOW emits SESSION_NO_SHOW.
    """
    actor = Actor.of(actor)
    require(actor, "SessionParticipants")
    try:
        status = AttendanceStatus(status)
    except ValueError:
        raise SchedulingError(_("Unknown attendance status."), field="status") from None
    if status not in MARKABLE:
        raise SchedulingError(_("Cancel the booking instead of marking it cancelled."), field="status")
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        raise SchedulingError(_("Choose at least one participant."), field="customers")
    if len(ids) > MAX_MARKED or not all(isinstance(i, uuid.UUID) for i in ids):
        raise SchedulingError(_("Choose at most %(max)s participants.", max=MAX_MARKED), field="customers")
    session = get_session(db, actor, session_id, lock=True, for_write=True)
    now = now_or(now)
    if session.status == SessionStatus.CANCELLED:
        raise SchedulingError(_("This session is cancelled."), field="session")
    if status in (AttendanceStatus.ATTENDED, AttendanceStatus.NO_SHOW) and now < session.start_time:
        raise SchedulingError(_("Attendance can be marked once the session has started."), field="status")
    rows = db.scalars(
        sa.select(SessionParticipant)
        .options(lazyload("*"))
        .where(
            SessionParticipant.session_id == session.id,
            SessionParticipant.customer_id.in_(ids),
            SessionParticipant.role == ParticipantRole.PRIMARY,
        )
    ).all()
    if len(rows) != len(ids):
        raise NotFound(_("Not every customer chosen is booked into this session."), field="customers")
    if any(r.attendance_status == AttendanceStatus.CANCELLED for r in rows):
        raise SchedulingError(_("A cancelled booking cannot be marked; book the customer again."), field="customers")
    seats_back = sum(1 for r in rows if r.attendance_status == AttendanceStatus.LATE_CANCEL and status not in RELEASED)
    if seats_back and seats_held(db, session.id) + seats_back > session.capacity:
        raise SchedulingError(_("No seat is free for a late-cancelled customer."), field="customers")
    changed = 0
    for row in rows:
        if row.attendance_status == status:
            continue
        row.cancelled_at = now if status == AttendanceStatus.LATE_CANCEL else None
        row.attendance_status = status
        changed += 1
        if status == AttendanceStatus.NO_SHOW:
            events.emit(
                db, events.SESSION_NO_SHOW, customer_id=row.customer_id, session_id=session.id, participant_id=row.id
            )
        elif status == AttendanceStatus.LATE_CANCEL:
            events.emit(
                db,
                events.SESSION_BOOKING_CANCELLED,
                customer_id=row.customer_id,
                session_id=session.id,
                participant_id=row.id,
                late=True,
            )
    db.flush()
    if changed and status == AttendanceStatus.LATE_CANCEL and rules is not None:
        promote_locked(db, session, rules=rules, now=now)
        db.flush()
    return changed


def set_feedback(
    db: Session, actor: Actor, session_id: int, customer_id: uuid.UUID, score: int | None
) -> SessionParticipant:
    """Record (or clear, with None) a booked customer's feedback score, 1 to 5."""
    actor = Actor.of(actor)
    require(actor, "SessionParticipants")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5):
        raise SchedulingError(_("Feedback is a score from 1 to 5."), field="feedback_score")
    session = get_session(db, actor, session_id, for_write=True)
    row = db.scalars(
        sa.select(SessionParticipant)
        .options(lazyload(SessionParticipant.session))
        .where(
            SessionParticipant.session_id == session.id,
            SessionParticipant.customer_id == customer_id,
            SessionParticipant.role == ParticipantRole.PRIMARY,
        )
    ).first()
    if row is None or row.attendance_status == AttendanceStatus.CANCELLED:
        raise NotFound(_("This customer has no booking in this session."), field="customer")
    row.feedback_score = score
    db.flush()
    return row


def promote_locked(
    db: Session, session: ScheduledSession, *, rules: BookingRules, now: dt.datetime
) -> list[SessionParticipant]:
    """Give free seats to the front of the queue; the caller holds the session's row lock.

    Nothing is promoted on a session that is not SCHEDULED or within ``promotion_cutoff`` of its
    start (the seat stays open for anyone to book). A waiting customer who holds an overlapping
    seat elsewhere is passed over and keeps their place.
    """
    if session.status != SessionStatus.SCHEDULED or now >= session.start_time - rules.promotion_cutoff:
        return []
    free = session.capacity - seats_held(db, session.id)
    if free <= 0:
        return []
    queue = db.execute(
        sa.select(SessionParticipant, WaitlistEntry)
        .join(
            WaitlistEntry,
            sa.and_(
                WaitlistEntry.session_id == SessionParticipant.session_id,
                WaitlistEntry.customer_id == SessionParticipant.customer_id,
            ),
        )
        .options(*_NO_JOINS)
        .where(
            SessionParticipant.session_id == session.id,
            SessionParticipant.role == ParticipantRole.WAITLIST,
            WaitlistEntry.promoted_at.is_(None),
        )
        .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
    ).all()
    promoted: list[tuple[SessionParticipant, WaitlistEntry]] = []
    for row, entry in queue:
        if len(promoted) >= free:
            break
        if overlapping_seat(db, session, row.customer_id) is not None:
            continue
        row.role = ParticipantRole.PRIMARY
        row.attendance_status = AttendanceStatus.REGISTERED
        row.cancelled_at = None
        entry.promoted_at = max(now, entry.joined_at)
        promoted.append((row, entry))
    if not promoted:
        return []
    db.flush()
    for row, entry in promoted:
        events.emit(
            db,
            events.SESSION_WAITLIST_PROMOTED,
            customer_id=row.customer_id,
            session_id=session.id,
            participant_id=row.id,
            waitlist_entry_id=entry.id,
        )
    return [row for row, _entry in promoted]
