"""The booking engine: book, cancel, promote from the waitlist, change capacity, cancel a session.

One rule set, used by the console, the calendar, the REST API and automations alike:

- The roster is ``session_participants`` (see ``app.models.scheduling``). A seat is held by a
  PRIMARY participant whose attendance is not CANCELLED or LATE_CANCEL. A WAITLIST participant
  has exactly one ``waitlist_entries`` row with ``promoted_at`` empty; a promoted participant
  keeps its entry with ``promoted_at`` set. The queue's order is (``joined_at``, entry id).
- Booking past capacity joins the waitlist (``joined_at`` = now). A free seat goes to whoever
  books, even with a queue: a free seat next to a queue only exists after the promotion cutoff
  ("the seat stays open") or when every waiting customer holds an overlapping seat.
- Cancelling a seat marks it LATE_CANCEL when within ``late_cancel_window`` of the start, else
  CANCELLED (with ``cancelled_at``), then promotes: the first waiting customers, in queue order,
  take the freed seats (role PRIMARY, ``promoted_at`` set, a SESSION_WAITLIST_PROMOTED event for
  notifications), unless now is within ``promotion_cutoff`` of the start; then the seat stays open.
  A capacity increase promotes the same way. A waiting customer who now holds an overlapping seat
  elsewhere is passed over and keeps their place.
- A waiting customer who cancels leaves the queue: their entry and their WAITLIST participant
  row are deleted (audited, and a SESSION_BOOKING_CANCELLED event says so), so no WAITLIST row
  ever lacks its open entry. Booking again later joins at the back.
- Rebooking after a cancelled seat reuses the participant row (one row per session and customer),
  and its entry when the customer has to queue again (``joined_at`` reset, ``promoted_at`` cleared).
- Refused, with a translated message and nothing changed: a session unknown or outside the actor's
  row scope (NotFound: the two are not told apart, so a coach asking for another coach's session
  is told it does not exist), cancelled, completed or already started; a customer unknown, without
  the CUSTOMER role, or (for a coach) not assigned to them (Forbidden); a role without the write
  grant; a customer holding a seat in an overlapping live session.
- Concurrency: every change starts by locking the session row (``SELECT ... FOR UPDATE`` on
  PostgreSQL; SQLite's write lock serialises writers), and reads "now", the seat count and the
  queue only after it, so capacity holds under parallel bookings and the queue order is the order
  in which bookings got the lock, which is their commit order.

Services flush and never commit; the ORM hooks audit every change in the caller's transaction,
and events (ids only) go to the outbox in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
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
from app.policy.scope import Actor
from app.services import events
from app.services.scheduling.errors import NotFound, SchedulingError, StaleEdit
from app.services.scheduling.roster import (
    Roster,
    mark_attendance,
    promote_locked,
    roster,
    seat_counts,
    set_feedback,
)
from app.services.scheduling.rules import (
    RELEASED,
    BookingRules,
    booking_state,
    check_customer,
    get_session,
    now_or,
    participant,
    raise_overlap,
    require,
    require_open,
    seats_held,
)

MAX_CAPACITY = 10_000

__all__ = [
    "BookingResult",
    "BookingRules",
    "CancelResult",
    "Roster",
    "book",
    "cancel_booking",
    "cancel_session",
    "mark_attendance",
    "promote_waitlist",
    "roster",
    "seat_counts",
    "set_capacity",
    "set_feedback",
]


@dataclass
class BookingResult:
    participant: SessionParticipant
    outcome: str  # "booked" | "waitlisted" | "already_booked" | "already_waitlisted"


@dataclass
class CancelResult:
    participant: SessionParticipant
    late: bool
    promoted: list[SessionParticipant]


def _locked_open_session(
    db: Session, actor: Actor, session_id: int, now: dt.datetime | None
) -> tuple[Actor, ScheduledSession, dt.datetime]:
    """The roster-changing actor's session, row-locked and still open, and "now" read after the lock
    (so the queue's order is the lock's order)."""
    actor = Actor.of(actor)
    require(actor, "SessionParticipants")
    session = get_session(db, actor, session_id, lock=True, for_write=True)
    now = now_or(now)
    require_open(session, now)
    return actor, session, now


def book(
    db: Session,
    actor: Actor,
    session_id: int,
    customer_id: uuid.UUID,
    *,
    rules: BookingRules,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Give the customer a seat, or a place at the back of the waitlist when the session is full."""
    actor, session, now = _locked_open_session(db, actor, session_id, now)
    state = booking_state(db, actor, session, customer_id)  # the customer check, their row, the count, overlaps
    row = state.participant
    if row is not None and row.attendance_status not in RELEASED:
        outcome = "already_booked" if row.role == ParticipantRole.PRIMARY else "already_waitlisted"
        return BookingResult(row, outcome)
    raise_overlap(state.overlap)
    seat = state.held < session.capacity
    role = ParticipantRole.PRIMARY if seat else ParticipantRole.WAITLIST
    if row is None:
        row = SessionParticipant(session_id=session.id, customer_id=customer_id)
        db.add(row)
    row.role = role
    row.attendance_status = AttendanceStatus.REGISTERED
    row.booked_at = now
    row.cancelled_at = None
    row.feedback_score = None
    if seat:
        # One flush for the seat and its event: the chained audit rows of a flush serialise bookings
        # until commit, so fewer flushes is more bookings a second. The (session, customer) pair
        # names the participant in the payload.
        events.emit(db, events.SESSION_BOOKED, customer_id=customer_id, session_id=session.id)
        db.flush()
        return BookingResult(row, "booked")
    db.flush()  # the participant exists before its entry refers to it
    entry = db.scalars(
        sa.select(WaitlistEntry)
        .options(lazyload("*"))
        .where(WaitlistEntry.session_id == session.id, WaitlistEntry.customer_id == customer_id)
    ).first()
    if entry is None:
        entry = WaitlistEntry(session_id=session.id, customer_id=customer_id, joined_at=now)
        db.add(entry)
    else:  # queued, promoted and cancelled before: queue again, at the back
        entry.promoted_at = None
        entry.joined_at = now
    events.emit(db, events.SESSION_WAITLISTED, customer_id=customer_id, session_id=session.id)
    db.flush()
    return BookingResult(row, "waitlisted")


def cancel_booking(
    db: Session,
    actor: Actor,
    session_id: int,
    customer_id: uuid.UUID,
    *,
    rules: BookingRules,
    now: dt.datetime | None = None,
) -> CancelResult:
    """Free the customer's seat (late or not) and promote from the queue; or take them off the queue."""
    actor, session, now = _locked_open_session(db, actor, session_id, now)
    check_customer(db, actor, customer_id)
    row = participant(db, session.id, customer_id)
    if row is None or row.attendance_status in RELEASED:
        raise NotFound(_("This customer has no booking in this session."), field="customer")
    if row.role == ParticipantRole.WAITLIST:
        _leave_queue(db, row)
        events.emit(
            db,
            events.SESSION_BOOKING_CANCELLED,
            customer_id=customer_id,
            session_id=session.id,
            participant_id=row.id,
            waitlisted=True,
        )
        db.flush()
        return CancelResult(row, late=False, promoted=[])
    late = session.start_time - now < rules.late_cancel_window
    row.attendance_status = AttendanceStatus.LATE_CANCEL if late else AttendanceStatus.CANCELLED
    row.cancelled_at = now
    db.flush()
    events.emit(
        db,
        events.SESSION_BOOKING_CANCELLED,
        customer_id=customer_id,
        session_id=session.id,
        participant_id=row.id,
        late=late,
    )
    promoted = promote_locked(db, session, rules=rules, now=now)
    db.flush()
    return CancelResult(row, late=late, promoted=promoted)


def promote_waitlist(
    db: Session, session: ScheduledSession, *, rules: BookingRules, now: dt.datetime | None = None
) -> list[SessionParticipant]:
    """Fill free seats from the front of the queue (nothing within the promotion cutoff); for jobs.

    Takes the session's row lock first, like every change to a roster; no actor (it is the
    engine's own step after a cancellation or a capacity increase, which checked theirs).
    """
    locked = db.scalars(
        sa.select(ScheduledSession)
        .options(lazyload("*"))
        .where(ScheduledSession.id == session.id)
        .with_for_update(of=ScheduledSession)
        .execution_options(populate_existing=True)
    ).one()
    promoted = promote_locked(db, locked, rules=rules, now=now_or(now))
    db.flush()
    return promoted


def set_capacity(
    db: Session,
    actor: Actor,
    session_id: int,
    capacity: int,
    *,
    rules: BookingRules,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> list[SessionParticipant]:
    """Change the number of seats; more seats promote from the queue. Returns who was promoted.

    Fewer seats than are held is refused (cancel bookings first). ``expected_version`` refuses a
    stale edit; the session's version goes up by one.
    """
    actor = Actor.of(actor)
    require(actor, "ScheduledSessions")
    session = get_session(db, actor, session_id, lock=True, for_write=True)
    now = now_or(now)
    if session.status != SessionStatus.SCHEDULED:
        require_open(session, now)  # says why (cancelled or completed)
    if expected_version is not None and session.version != expected_version:
        raise StaleEdit(_("Someone else changed this session; reload it and try again."))
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= MAX_CAPACITY:
        raise SchedulingError(_("Capacity must be between 1 and %(max)s.", max=MAX_CAPACITY), field="capacity")
    held = seats_held(db, session.id)
    if capacity < held:
        raise SchedulingError(
            _("%(held)s customers hold seats: cancel bookings before lowering capacity below that.", held=held),
            field="capacity",
        )
    if capacity == session.capacity:
        return []
    session.capacity = capacity
    session.version = (session.version or 1) + 1
    db.flush()
    promoted = promote_locked(db, session, rules=rules, now=now)
    db.flush()
    return promoted


def cancel_session(
    db: Session,
    actor: Actor,
    session_id: int,
    *,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> ScheduledSession:
    """Cancel a session that has not started: every seat CANCELLED, the queue cleared, everyone told.

    Events: one SESSION_CANCELLED for the session (no customer), and one per customer who held a
    seat or waited, for notifications.
    """
    actor = Actor.of(actor)
    require(actor, "ScheduledSessions")
    session = get_session(db, actor, session_id, lock=True, for_write=True)
    now = now_or(now)
    require_open(session, now)
    if expected_version is not None and session.version != expected_version:
        raise StaleEdit(_("Someone else changed this session; reload it and try again."))
    session.status = SessionStatus.CANCELLED
    session.version = (session.version or 1) + 1
    rows = db.scalars(
        sa.select(SessionParticipant)
        .options(lazyload("*"))
        .where(SessionParticipant.session_id == session.id)
        .order_by(SessionParticipant.id)
    ).all()
    told: list[tuple[uuid.UUID, int, str]] = []
    queued = [r for r in rows if r.role == ParticipantRole.WAITLIST]
    for row in rows:
        if row.role == ParticipantRole.PRIMARY and row.attendance_status not in RELEASED:
            row.attendance_status = AttendanceStatus.CANCELLED
            row.cancelled_at = now
            told.append((row.customer_id, row.id, ParticipantRole.PRIMARY.value))
    for row in queued:
        told.append((row.customer_id, row.id, ParticipantRole.WAITLIST.value))
    db.flush()
    for row in queued:
        _leave_queue(db, row)
    events.emit(db, events.SESSION_CANCELLED, session_id=session.id)
    for customer_id, participant_id, role in told:
        events.emit(
            db,
            events.SESSION_CANCELLED,
            customer_id=customer_id,
            session_id=session.id,
            participant_id=participant_id,
            role=role,
        )
    db.flush()
    return session


def _leave_queue(db: Session, row: SessionParticipant) -> None:
    """Delete a waiting participant and its entry: the entry first (it refers to the participant)."""
    entry = db.scalars(
        sa.select(WaitlistEntry)
        .options(lazyload("*"))
        .where(WaitlistEntry.session_id == row.session_id, WaitlistEntry.customer_id == row.customer_id)
    ).first()
    if entry is not None:
        db.delete(entry)
        db.flush()
    db.delete(row)
    db.flush()
