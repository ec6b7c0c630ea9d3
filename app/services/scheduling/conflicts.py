"""Schedule conflicts: the coach double-booked, a session outside their availability, a room taken.

Each check is one indexed query (the coach's sessions by ``(coach_id, start_time)``; the location's
sessions by ``start_time``), bounded by the longest session the calendar accepts, so the cost does
not grow with the size of the timetable. A conflict is reported, not enforced: the session service
refuses unless the actor asked to save anyway and holds the ScheduleOverride grant.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.scheduling import ScheduledSession, SessionStatus
from app.policy.roles import WRITE
from app.policy.scope import Actor
from app.services.scheduling.access import grants
from app.services.scheduling.availability import available_intervals, covers, raw_blocks
from app.services.scheduling.errors import Conflict
from app.services.scheduling.inputs import MAX_SESSION_LENGTH

OVERRIDE_RESOURCE = "ScheduleOverride"


def may_override(actor: Actor) -> bool:
    """Whether the actor may save a session despite its conflicts ("save anyway")."""
    return grants(actor, OVERRIDE_RESOURCE, WRITE)


def _place(value: str | None) -> str | None:
    """The location as typed, trimmed; empty means none (a virtual session clashes with no room)."""
    text = (value or "").strip()
    return text or None


def _same_place(place: str) -> sa.ColumnElement[bool]:
    # Both sides through the database's own lower(): SQLite folds ASCII only, and must agree with itself.
    return sa.func.lower(sa.func.trim(ScheduledSession.location)) == sa.func.lower(sa.literal(place))


def _overlapping(start: dt.datetime, end: dt.datetime, exclude_ids: Iterable[int]) -> list[sa.ColumnElement[bool]]:
    # start_time > start - MAX lets the index bound the scan from both sides (no session is longer).
    criteria = [
        ScheduledSession.start_time < end,
        ScheduledSession.start_time > start - MAX_SESSION_LENGTH,
        ScheduledSession.end_time > start,
        ScheduledSession.status != SessionStatus.CANCELLED,
    ]
    ids = [i for i in exclude_ids if i is not None]
    if ids:
        criteria.append(ScheduledSession.id.not_in(ids))
    return criteria


def find_conflicts(
    db: Session,
    *,
    coach_id: uuid.UUID | None,
    start: dt.datetime,
    end: dt.datetime,
    location: str | None,
    exclude_ids: Iterable[int] = (),
) -> list[Conflict]:
    """Every reason [start, end) clashes, for a session run by ``coach_id`` at ``location``."""
    return conflicts_for_spans(db, coach_id=coach_id, spans=[(start, end)], location=location, exclude_ids=exclude_ids)[
        0
    ]


def conflicts_for_spans(
    db: Session,
    *,
    coach_id: uuid.UUID | None,
    spans: list[tuple[dt.datetime, dt.datetime]],
    location: str | None,
    exclude_ids: Iterable[int] = (),
) -> list[list[Conflict]]:
    """The conflicts of each span (a series' occurrences) in a fixed number of queries, whatever their count.

    One query per kind over the series' whole range (the coach's sessions, the coach's availability
    in two, the location's sessions), then matched span by span in Python.
    """
    if not spans:
        return []
    exclude = [i for i in exclude_ids if i is not None]
    first = min(s for s, _e in spans)
    last = max(e for _s, e in spans)
    out: list[list[Conflict]] = [[] for _ in spans]
    if coach_id is not None:
        busy = _sessions(db, ScheduledSession.coach_id == coach_id, first, last, exclude)
        intervals = available_intervals(raw_blocks(db, first, last, [coach_id]))
        for found, (start, end) in zip(out, spans, strict=True):
            for row in _clashing(busy, start, end):
                title = row.title or _("a session")
                found.append(
                    Conflict("coach_busy", _("The coach already runs “%(title)s” at that time.", title=title), row.id)
                )
            if not covers(intervals, start, end):
                found.append(Conflict("outside_availability", _("This time is outside the coach's availability.")))
    place = _place(location)
    if place is not None:
        taken = _sessions(db, _same_place(place), first, last, exclude)
        for found, (start, end) in zip(out, spans, strict=True):
            for row in _clashing(taken, start, end):
                title = row.title or _("a session")
                found.append(
                    Conflict(
                        "location_taken",
                        _("“%(place)s” is taken by “%(title)s” at that time.", place=place, title=title),
                        row.id,
                    )
                )
    return out


def _sessions(
    db: Session, criterion: sa.ColumnElement[bool], first: dt.datetime, last: dt.datetime, exclude: list[int]
) -> list[sa.Row]:
    stmt = (
        sa.select(ScheduledSession.id, ScheduledSession.title, ScheduledSession.start_time, ScheduledSession.end_time)
        .where(criterion, *_overlapping(first, last, exclude))
        .order_by(ScheduledSession.start_time, ScheduledSession.id)
    )
    return list(db.execute(stmt))


def _clashing(rows: list[sa.Row], start: dt.datetime, end: dt.datetime) -> list[sa.Row]:
    return [r for r in rows if r.start_time < end and r.end_time > start][:5]
