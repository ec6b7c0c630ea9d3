"""The calendar's events: the sessions a viewer may see in a date range, with their fill.

Two queries whatever the number of sessions: the sessions with their coach's name (row scope from
``app.policy.scope`` in the WHERE clause, the ``start_time`` index bounding the range from both
sides), then the seat counts of exactly those sessions in one GROUP BY. Nothing is lazy-loaded:
rows are read as columns, not ORM objects.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.scheduling import (
    ScheduledSession,
    SessionStatus,
    SessionType,
)
from app.policy.roles import READ
from app.policy.scope import Actor, scope_criteria
from app.services.scheduling import inputs
from app.services.scheduling.access import acts_as_coach_only, require
from app.services.scheduling.errors import SchedulingError
from app.services.scheduling.roster import seat_counts

RESOURCE = "Calendar"
MAX_RANGE = dt.timedelta(days=62)
MAX_LIMIT = 5000
MAX_FILTER_VALUES = 100
# Participants who no longer hold (or wait for) a seat.


@dataclass(slots=True)
class CalendarEvent:
    """One event of the calendar feed. Slots, not frozen: a busy week builds 2,000 of them per
    request, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) cost
    about 10 ms of the events endpoint's time there."""

    id: int
    title: str | None
    session_type: str
    status: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    coach_id: uuid.UUID | None
    coach_name: str | None
    location: str | None
    join_link: str | None
    capacity: int
    booked: int
    waitlisted: int
    series_id: int | None
    version: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of the events endpoint (every field; times in ISO 8601, ids as text)."""
        return {
            "id": self.id,
            "title": self.title,
            "session_type": self.session_type,
            "status": self.status,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "coach_id": str(self.coach_id) if self.coach_id else None,
            "coach_name": self.coach_name,
            "location": self.location,
            "join_link": self.join_link,
            "capacity": self.capacity,
            "booked": self.booked,
            "waitlisted": self.waitlisted,
            "series_id": self.series_id,
            "version": self.version,
        }


def _values(raw: Iterable[Any] | None, parse: Any, field: str) -> list[Any] | None:
    if raw is None:
        return None
    values = list(raw)
    if len(values) > MAX_FILTER_VALUES:
        raise SchedulingError(_("Too many filter values."), field=field)
    try:
        return [parse(v) for v in values]
    except (ValueError, TypeError, AttributeError):
        raise SchedulingError(_("Unknown filter value."), field=field) from None


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def events(
    db: Session,
    actor: Actor,
    start: dt.datetime,
    end: dt.datetime,
    *,
    coach_ids: Iterable[Any] | None = None,
    locations: Iterable[str] | None = None,
    session_types: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    limit: int = MAX_LIMIT,
) -> list[CalendarEvent]:
    """Sessions overlapping [start, end) that the actor may see, in start order (at most 62 days, ``limit`` rows)."""
    require(actor, RESOURCE, READ)
    start, end = inputs.span(start, end, max_length=None)
    if end - start > MAX_RANGE:
        raise SchedulingError(_("Ask for at most %(n)s days at a time.", n=MAX_RANGE.days), field="end")
    limit = max(1, min(int(limit), MAX_LIMIT))
    coaches = _values(coach_ids, _uuid, "coach_ids")
    places = _values(locations, lambda v: str(v).strip().lower(), "locations")
    types = _values(session_types, SessionType, "session_types")
    states = _values(statuses, SessionStatus, "statuses")

    s = ScheduledSession
    stmt = (
        sa.select(
            s.id,
            s.title,
            s.session_type,
            s.status,
            s.start_time,
            s.end_time,
            s.timezone,
            s.coach_id,
            PlatformUser.full_name,
            s.location,
            s.join_link,
            s.capacity,
            s.series_id,
            s.version,
        )  # fmt: skip
        .outerjoin(PlatformUser, PlatformUser.id == s.coach_id)
        .where(
            scope_criteria(ScheduledSession, actor),
            s.start_time < end,
            s.start_time > start - inputs.MAX_SESSION_LENGTH,
            s.end_time > start,
        )
        .order_by(s.start_time, s.id)
        .limit(limit)
    )
    if coaches is not None:
        stmt = stmt.where(s.coach_id.in_(coaches))
    if places is not None:
        stmt = stmt.where(sa.func.lower(sa.func.trim(s.location)).in_(places))
    if types is not None:
        stmt = stmt.where(s.session_type.in_(types))
    if states is not None:
        stmt = stmt.where(s.status.in_(states))
    # Core execution: plain rows, no ORM result machinery (2,000 rows in a busy week).
    rows = db.connection().execute(stmt).all()
    counts = seat_counts(db, stmt.with_only_columns(s.id)) if rows else {}
    return [
        CalendarEvent(
            id=r.id,
            title=r.title,
            session_type=r.session_type.value,
            status=r.status.value,
            start=r.start_time,
            end=r.end_time,
            timezone=r.timezone,
            coach_id=r.coach_id,
            coach_name=r.full_name,
            location=r.location,
            join_link=r.join_link,
            capacity=r.capacity,
            booked=counts.get(r.id, (0, 0))[0],
            waitlisted=counts.get(r.id, (0, 0))[1],
            series_id=r.series_id,
            version=r.version,
        )
        for r in rows
    ]


def _type_label(value: SessionType) -> str:
    return {
        SessionType.CLASS: _("Class"),
        SessionType.ONE_ON_ONE: _("One-on-one"),
        SessionType.VIRTUAL: _("Virtual"),
        SessionType.HYBRID: _("Hybrid"),
    }[value]


def _status_label(value: SessionStatus) -> str:
    return {
        SessionStatus.SCHEDULED: _("Scheduled"),
        SessionStatus.COMPLETED: _("Completed"),
        SessionStatus.CANCELLED: _("Cancelled"),
    }[value]


def filter_options(db: Session, actor: Actor, *, max_locations: int = 200) -> dict[str, list[dict[str, str]]]:
    """What the viewer may filter by: coaches (a coach: only themselves), locations in their scope, types, statuses."""
    require(actor, RESOURCE, READ)
    coach_stmt = (
        sa.select(PlatformUser.id, PlatformUser.full_name)
        .join(UserRole, UserRole.user_id == PlatformUser.id)
        .join(PlatformRole, PlatformRole.id == UserRole.role_id)
        .where(PlatformRole.code == RoleCode.COACH)
        .order_by(PlatformUser.full_name, PlatformUser.id)
    )
    if acts_as_coach_only(actor):
        coach_stmt = coach_stmt.where(PlatformUser.id == actor.user_id)
    place = sa.func.trim(ScheduledSession.location)
    loc_stmt = (
        sa.select(sa.func.min(place))
        .where(scope_criteria(ScheduledSession, actor), ScheduledSession.location.is_not(None), place != "")
        .group_by(sa.func.lower(place))
        .order_by(sa.func.lower(place))
        .limit(max_locations)
    )
    return {
        "coaches": [{"value": str(cid), "label": name} for cid, name in db.execute(coach_stmt)],
        "locations": [{"value": loc, "label": loc} for loc in db.scalars(loc_stmt)],
        "types": [{"value": t.value, "label": _type_label(t)} for t in SessionType],
        "statuses": [{"value": s.value, "label": _status_label(s)} for s in SessionStatus],
    }
