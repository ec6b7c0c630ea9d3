"""The booking engine's rule set and the checks every booking function shares.

``BookingRules`` holds the two configurable windows (promotion cutoff, late-cancel window). The
helpers below find the session (row scope first, so a session outside the actor's scope is "not
found", never "forbidden"), take its row lock, check the actor's grant and the customer, and find
overlapping seats. They only read; ``booking`` and ``roster`` make the changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, lazyload

from app.i18n import service_gettext as _
from app.models.base import utcnow
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionStatus,
)
from app.policy.roles import CUSTOMER_APP, WRITE
from app.policy.scope import Actor, coach_customers, is_unrestricted, scope_criteria
from app.services.scheduling.access import MAX_ID, grants
from app.services.scheduling.errors import Forbidden, NotFound, SchedulingError

DEFAULT_PROMOTION_CUTOFF_MINUTES = 60
DEFAULT_LATE_CANCEL_HOURS = 12

# A PRIMARY participant in one of these states no longer holds a seat.
RELEASED = (AttendanceStatus.CANCELLED, AttendanceStatus.LATE_CANCEL)


@dataclass(frozen=True)
class BookingRules:
    """When promotion stops and when a cancellation counts as late, relative to a session's start."""

    promotion_cutoff: dt.timedelta
    late_cancel_window: dt.timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BookingRules:
        """From ``BOOKING_PROMOTION_CUTOFF_MINUTES`` (default 60) and ``BOOKING_LATE_CANCEL_HOURS`` (default 12)."""
        minutes = int(config.get("BOOKING_PROMOTION_CUTOFF_MINUTES", DEFAULT_PROMOTION_CUTOFF_MINUTES))
        hours = int(config.get("BOOKING_LATE_CANCEL_HOURS", DEFAULT_LATE_CANCEL_HOURS))
        if minutes < 0 or hours < 0:
            raise ValueError("booking windows cannot be negative")
        return cls(promotion_cutoff=dt.timedelta(minutes=minutes), late_cancel_window=dt.timedelta(hours=hours))


def holds_seat(participants: Any = SessionParticipant) -> sa.ColumnElement[bool]:
    """The participants (``participants``: the entity or an alias of it) that occupy a seat:
    PRIMARY and not cancelled (late or not)."""
    return sa.and_(
        participants.role == ParticipantRole.PRIMARY,
        participants.attendance_status.not_in(RELEASED),
    )


def now_or(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def require(actor: Actor, resource: str, action: str = WRITE) -> None:
    """The role matrix grant, checked again here so a job or a shell cannot do what the console refuses."""
    if not grants(actor, resource, action):
        raise Forbidden(_("You may not change bookings.") if action == WRITE else _("You may not see bookings."))


def get_session(
    db: Session, actor: Actor, session_id: int, *, lock: bool = False, for_write: bool = False
) -> ScheduledSession:
    """The session if the actor may see it (NotFound otherwise); ``lock`` takes its row lock.

    The lock (``SELECT ... FOR UPDATE`` on PostgreSQL, SQLite's write lock serialises anyway)
    makes every count-then-write on this session's roster wait for the previous one to commit.
    ``populate_existing`` reloads the row, so the capacity and status read are the locked ones.
    """
    if not isinstance(session_id, int) or isinstance(session_id, bool) or not 0 < session_id <= MAX_ID:
        raise NotFound(_("No such session."))
    stmt = (
        sa.select(ScheduledSession)
        .options(lazyload(ScheduledSession.coach))
        .where(ScheduledSession.id == session_id, scope_criteria(ScheduledSession, actor, for_write=for_write))
    )
    if lock:
        stmt = stmt.with_for_update(of=ScheduledSession).execution_options(populate_existing=True)
    session = db.scalars(stmt).first()
    if session is None:
        raise NotFound(_("No such session."))
    return session


def require_open(session: ScheduledSession, now: dt.datetime) -> None:
    """Bookings change only on a scheduled session that has not started."""
    if session.status == SessionStatus.CANCELLED:
        raise SchedulingError(_("This session is cancelled."), field="session")
    if session.status == SessionStatus.COMPLETED:
        raise SchedulingError(_("This session is completed."), field="session")
    if session.start_time <= now:
        raise SchedulingError(_("This session has already started."), field="session")


def is_customer() -> sa.ColumnElement[bool]:
    return PlatformUser.id.in_(
        sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    )


def check_customer(db: Session, actor: Actor, customer_id: uuid.UUID) -> None:
    """The customer exists, holds the CUSTOMER role and, for a coach, is one of theirs (one query).

    A coach asking about a customer who is not theirs is told so whether or not the id exists.
    """
    _judge_customer(actor, db.execute(_customer_select(actor, customer_id)).first())


def _check_customer_args(actor: Actor, customer_id: uuid.UUID) -> str | None:
    """The checks that need no query; how the actor is restricted: None (not), "coach" (to their own
    customers) or "self" (a customer app, to its own customer)."""
    if not isinstance(customer_id, uuid.UUID):
        raise NotFound(_("No such customer."), field="customer")
    if is_unrestricted(actor):
        return None
    if actor.user_id is None:
        raise Forbidden(_("You may not change bookings."))
    return "self" if CUSTOMER_APP in actor.roles else "coach"


def _theirs(restricted: str | None, user_id: Any) -> sa.ColumnElement[bool]:
    if restricted == "self":
        return PlatformUser.id == user_id
    return PlatformUser.id.in_(coach_customers(user_id)) if restricted else sa.true()


def _customer_select(actor: Actor, customer_id: uuid.UUID) -> sa.Select[Any]:
    restricted = _check_customer_args(actor, customer_id)
    theirs = _theirs(restricted, actor.user_id)
    return sa.select(is_customer().label("customer"), theirs.label("theirs")).where(PlatformUser.id == customer_id)


def _judge_customer(actor: Actor, row: Any) -> None:
    if row is None or not row.theirs:
        if not is_unrestricted(actor):
            raise Forbidden(_("This customer is not one of your customers."), field="customer")
        raise NotFound(_("No such customer."), field="customer")
    if not row.customer:
        raise SchedulingError(_("Only customers can be booked into sessions."), field="customer")


@dataclass
class BookingState:
    """What a booking decides on, read in one statement after the session's lock."""

    participant: SessionParticipant | None  # the customer's row on this roster, if any
    held: int  # seats held on this roster
    overlap: int | None  # another live session overlapping this one where the customer holds a seat


def booking_state(db: Session, actor: Actor, session: ScheduledSession, customer_id: uuid.UUID) -> BookingState:
    """``check_customer``, ``participant``, ``seats_held`` and ``overlapping_seat`` in one statement.

    One round trip instead of four while the session's row lock is held (call it after
    ``get_session(lock=True)``: the statement's snapshot is then taken after the lock, so the
    count is the locked one). Raises as ``check_customer`` does. The statement is built once per
    shape (a coach or not) with bound parameters: building it per booking cost more than running it.
    """
    restricted = _check_customer_args(actor, customer_id)
    params = {
        "customer_id": customer_id,
        "session_id": session.id,
        "session_start": session.start_time,
        "session_end": session.end_time,
    }
    if restricted:
        params["coach_id"] = actor.user_id
    row = db.execute(_booking_state_select(restricted), params).first()
    _judge_customer(actor, row)
    return BookingState(participant=row.SessionParticipant, held=row.held or 0, overlap=row.overlap)


@functools.cache
def _booking_state_select(restricted: str | None) -> sa.Select[Any]:
    customer_id = sa.bindparam("customer_id", type_=PlatformUser.__table__.c.id.type)
    session_id = sa.bindparam("session_id", type_=sa.Integer)
    start = sa.bindparam("session_start", type_=ScheduledSession.__table__.c.start_time.type)
    end = sa.bindparam("session_end", type_=ScheduledSession.__table__.c.end_time.type)
    coach_id = sa.bindparam("coach_id", type_=PlatformUser.__table__.c.id.type)
    theirs = _theirs(restricted, coach_id)  # coach_id: the restricted actor's user id
    seated = aliased(SessionParticipant)  # aliases: never correlated to the roster row of the outer query
    held = sa.select(sa.func.count()).select_from(seated).where(seated.session_id == session_id, holds_seat(seated))
    return (
        sa.select(
            is_customer().label("customer"),
            theirs.label("theirs"),
            held.scalar_subquery().label("held"),
            _overlap_select(session_id, start, end, customer_id).scalar_subquery().label("overlap"),
            SessionParticipant,
        )
        .select_from(PlatformUser)
        .outerjoin(
            SessionParticipant,
            sa.and_(SessionParticipant.session_id == session_id, SessionParticipant.customer_id == PlatformUser.id),
        )
        .where(PlatformUser.id == customer_id)
        .options(lazyload(SessionParticipant.session), lazyload(SessionParticipant.customer))
        .execution_options(populate_existing=True)
    )


def participant(db: Session, session_id: int, customer_id: uuid.UUID) -> SessionParticipant | None:
    return db.scalars(
        sa.select(SessionParticipant)
        .options(lazyload(SessionParticipant.session), lazyload(SessionParticipant.customer))
        .where(SessionParticipant.session_id == session_id, SessionParticipant.customer_id == customer_id)
        .execution_options(populate_existing=True)
    ).first()


def seats_held(db: Session, session_id: int) -> int:
    return db.scalar(
        sa.select(sa.func.count()).select_from(SessionParticipant).where(
            SessionParticipant.session_id == session_id, holds_seat()
        )
    ) or 0  # fmt: skip


def overlapping_seat(db: Session, session: ScheduledSession, customer_id: uuid.UUID) -> int | None:
    """The id of another live session overlapping this one in which the customer holds a seat."""
    return db.scalar(_overlap_select(session.id, session.start_time, session.end_time, customer_id))


def _overlap_select(session_id: Any, start: Any, end: Any, customer_id: Any) -> sa.Select[Any]:
    seated = aliased(SessionParticipant)  # aliases: never correlated to an enclosing roster query
    other = aliased(ScheduledSession)
    return (
        sa.select(other.id)
        .join(seated, seated.session_id == other.id)
        .where(
            seated.customer_id == customer_id,
            holds_seat(seated),
            other.id != session_id,
            other.status != SessionStatus.CANCELLED,
            other.start_time < end,
            other.end_time > start,
        )
        .limit(1)
    )


def refuse_overlap(db: Session, session: ScheduledSession, customer_id: uuid.UUID) -> None:
    raise_overlap(overlapping_seat(db, session, customer_id))


def raise_overlap(other: int | None) -> None:
    """Refuse a seat when the customer holds one in ``other``, an overlapping live session."""
    if other is not None:
        raise SchedulingError(
            _("A customer cannot be booked into two overlapping sessions."), field="customer", session_id=other
        )
