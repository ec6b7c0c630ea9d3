"""Coach availability: weekly slots, dated exceptions, and the blocks the calendar draws behind sessions.

A weekly slot is wall-clock time in its own zone ("Mondays 09:00-12:00 in Europe/Madrid"), so it
is expanded day by day in that zone: across a daylight-saving change it stays 09:00-12:00 local
and its UTC times move. Exceptions are dated: TIME_OFF (unavailable whatever the weekly slots say)
and EXTRA (available outside them). ``blocks`` returns both kinds; the conflict check reads
availability as weekly slots minus time off, plus extra slots.

A coach touches only their own availability (row scope, ``for_write``); staff with write on
CoachAvailability choose the coach.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, noload

from app.i18n import service_gettext as _
from app.models.scheduling import AvailabilityException, AvailabilityExceptionKind, CoachAvailability
from app.policy.roles import READ
from app.policy.scope import Actor, scope_criteria
from app.services.scheduling import inputs
from app.services.scheduling.access import MAX_ID, coach_for, require
from app.services.scheduling.errors import NotFound, SchedulingError
from app.services.scheduling.recurrence import to_utc

RESOURCE = "CoachAvailability"
MAX_EXCEPTION_LENGTH = dt.timedelta(days=366)
MAX_BLOCK_RANGE = dt.timedelta(days=62)
MAX_NOTE = 200


@dataclass(frozen=True)
class AvailabilityBlock:
    """One stretch of a coach's availability (``kind`` "available") or time off ("time_off"), in UTC."""

    coach_id: uuid.UUID
    start: dt.datetime
    end: dt.datetime
    kind: str
    source_id: int
    source: str  # "weekly" or "exception"


# --- weekly slots --------------------------------------------------------------------------------------------


def _clean_slot(day_of_week: Any, start_time: Any, end_time: Any, timezone: Any, capacity: Any) -> dict[str, Any]:
    if isinstance(day_of_week, bool) or not isinstance(day_of_week, int) or not 0 <= day_of_week <= 6:
        raise SchedulingError(_("Choose a weekday from Monday to Sunday."), field="day_of_week")
    if not isinstance(start_time, dt.time) or not isinstance(end_time, dt.time):
        raise SchedulingError(_("Give the slot's start and end times."), field="start_time")
    start_time, end_time = start_time.replace(tzinfo=None), end_time.replace(tzinfo=None)
    if end_time <= start_time:
        raise SchedulingError(_("The end must be after the start."), field="end_time")
    return {
        "day_of_week": day_of_week,
        "start_time": start_time,
        "end_time": end_time,
        "timezone": inputs.zone(timezone),
        "capacity": inputs.capacity(capacity),
    }


def _refuse_overlap(db: Session, coach_id: uuid.UUID, fields: dict[str, Any], exclude_id: int | None = None) -> None:
    stmt = sa.select(CoachAvailability.id).where(
        CoachAvailability.coach_id == coach_id,
        CoachAvailability.day_of_week == fields["day_of_week"],
        CoachAvailability.start_time < fields["end_time"],
        CoachAvailability.end_time > fields["start_time"],
    )
    if exclude_id is not None:
        stmt = stmt.where(CoachAvailability.id != exclude_id)
    if db.execute(stmt.limit(1)).first() is not None:
        raise SchedulingError(
            _("This slot overlaps another weekly slot of the same coach on that day."), field="start_time"
        )


def add_slot(
    db: Session,
    actor: Actor,
    *,
    coach_id: uuid.UUID | str | None,
    day_of_week: int,
    start_time: dt.time,
    end_time: dt.time,
    timezone: str,
    capacity: int = 1,
) -> CoachAvailability:
    """A new weekly slot for the coach (a coach's own; staff choose). Flushed, not committed."""
    require(actor, RESOURCE)
    coach = coach_for(db, actor, coach_id)
    fields = _clean_slot(day_of_week, start_time, end_time, timezone, capacity)
    _refuse_overlap(db, coach, fields)
    slot = CoachAvailability(coach_id=coach, **fields)
    db.add(slot)
    db.flush()
    return slot


def _own_slot(db: Session, actor: Actor, slot_id: int) -> CoachAvailability:
    require(actor, RESOURCE)
    slot = None
    if isinstance(slot_id, int) and 1 <= slot_id <= MAX_ID:
        stmt = sa.select(CoachAvailability).where(
            CoachAvailability.id == slot_id, scope_criteria(CoachAvailability, actor, for_write=True)
        )
        slot = db.scalars(stmt).first()
    if slot is None:
        raise NotFound(_("This availability slot was not found."))
    return slot


def update_slot(db: Session, actor: Actor, slot_id: int, **changes: Any) -> CoachAvailability:
    """Change a slot's day, times, zone or capacity (the coach stays the same)."""
    unknown = set(changes) - {"day_of_week", "start_time", "end_time", "timezone", "capacity"}
    if unknown:
        raise SchedulingError(_("These fields cannot be changed: %(names)s.", names=", ".join(sorted(unknown))))
    slot = _own_slot(db, actor, slot_id)
    current = {k: getattr(slot, k) for k in ("day_of_week", "start_time", "end_time", "timezone", "capacity")}
    fields = _clean_slot(**{**current, **changes})
    _refuse_overlap(db, slot.coach_id, fields, exclude_id=slot.id)
    for key, value in fields.items():
        if getattr(slot, key) != value:
            setattr(slot, key, value)
    db.flush()
    return slot


def delete_slot(db: Session, actor: Actor, slot_id: int) -> None:
    db.delete(_own_slot(db, actor, slot_id))
    db.flush()


# --- exceptions ----------------------------------------------------------------------------------------------


def add_exception(
    db: Session,
    actor: Actor,
    *,
    coach_id: uuid.UUID | str | None,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    note: str | None = None,
) -> AvailabilityException:
    """Time off or an extra slot on given dates (aware datetimes)."""
    require(actor, RESOURCE)
    coach = coach_for(db, actor, coach_id)
    try:
        kind_value = AvailabilityExceptionKind(kind)
    except ValueError:
        raise SchedulingError(_("Choose time off or an extra slot."), field="kind") from None
    start, end = inputs.span(starts_at, ends_at, max_length=MAX_EXCEPTION_LENGTH)
    if note is not None and (not isinstance(note, str) or len(note.strip()) > MAX_NOTE):
        raise SchedulingError(_("The note is at most %(n)s characters.", n=MAX_NOTE), field="note")
    row = AvailabilityException(
        coach_id=coach, kind=kind_value, starts_at=start, ends_at=end, note=(note or "").strip() or None
    )
    db.add(row)
    db.flush()
    return row


def delete_exception(db: Session, actor: Actor, exception_id: int) -> None:
    require(actor, RESOURCE)
    row = None
    if isinstance(exception_id, int) and 1 <= exception_id <= MAX_ID:
        stmt = sa.select(AvailabilityException).where(
            AvailabilityException.id == exception_id,
            scope_criteria(AvailabilityException, actor, for_write=True),
        )
        row = db.scalars(stmt).first()
    if row is None:
        raise NotFound(_("This availability exception was not found."))
    db.delete(row)
    db.flush()


# --- blocks --------------------------------------------------------------------------------------------------


def expand_slot(slot: CoachAvailability, start: dt.datetime, end: dt.datetime) -> list[AvailabilityBlock]:
    """The slot's occurrences overlapping [start, end), each computed on its zone's wall clock."""
    tz = ZoneInfo(slot.timezone)
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    day = first + dt.timedelta(days=(slot.day_of_week - first.weekday()) % 7)
    out = []
    while day <= last:
        block_start = to_utc(dt.datetime.combine(day, slot.start_time), tz)
        block_end = to_utc(dt.datetime.combine(day, slot.end_time), tz)
        if block_start < end and block_end > start and block_end > block_start:
            out.append(AvailabilityBlock(slot.coach_id, block_start, block_end, "available", slot.id, "weekly"))
        day += dt.timedelta(days=7)
    return out


def raw_blocks(
    db: Session, start: dt.datetime, end: dt.datetime, coach_ids: Iterable[uuid.UUID] | None, criteria: Any = None
) -> list[AvailabilityBlock]:
    """Blocks for [start, end) without permission checks (two queries: slots, exceptions)."""
    slot_stmt = sa.select(CoachAvailability)
    exc_stmt = sa.select(AvailabilityException).where(
        AvailabilityException.starts_at < end, AvailabilityException.ends_at > start
    )
    if coach_ids is not None:
        ids = list(coach_ids)
        slot_stmt = slot_stmt.where(CoachAvailability.coach_id.in_(ids))
        exc_stmt = exc_stmt.where(AvailabilityException.coach_id.in_(ids))
    if criteria is not None:
        slot_stmt = slot_stmt.where(criteria[0])
        exc_stmt = exc_stmt.where(criteria[1])
    # Plain column loads: the models' joined coach relation is not needed here.
    slot_stmt = slot_stmt.options(noload(CoachAvailability.coach))
    exc_stmt = exc_stmt.options(noload(AvailabilityException.coach))
    out: list[AvailabilityBlock] = []
    for slot in db.scalars(slot_stmt):
        out.extend(expand_slot(slot, start, end))
    for row in db.scalars(exc_stmt):
        kind = "time_off" if row.kind == AvailabilityExceptionKind.TIME_OFF else "available"
        out.append(AvailabilityBlock(row.coach_id, row.starts_at, row.ends_at, kind, row.id, "exception"))
    out.sort(key=lambda b: (b.start, b.end, str(b.coach_id), b.source, b.source_id))
    return out


def blocks(
    db: Session, actor: Actor, start: dt.datetime, end: dt.datetime, *, coach_ids: Iterable[uuid.UUID] | None = None
) -> list[AvailabilityBlock]:
    """Availability and time-off blocks overlapping [start, end) that the actor may see (at most 62 days)."""
    require(actor, RESOURCE, READ)
    start, end = inputs.span(start, end, max_length=None)
    if end - start > MAX_BLOCK_RANGE:
        raise SchedulingError(_("Ask for at most %(n)s days at a time.", n=MAX_BLOCK_RANGE.days), field="end")
    criteria = (scope_criteria(CoachAvailability, actor), scope_criteria(AvailabilityException, actor))
    return raw_blocks(db, start, end, coach_ids, criteria)


def available_intervals(blocks_: Iterable[AvailabilityBlock]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Merged available time: weekly slots minus time off, plus extra slots (EXTRA wins over time off)."""
    weekly = [(b.start, b.end) for b in blocks_ if b.kind == "available" and b.source == "weekly"]
    extra = [(b.start, b.end) for b in blocks_ if b.kind == "available" and b.source == "exception"]
    off = [(b.start, b.end) for b in blocks_ if b.kind == "time_off"]
    return _merge(_subtract(_merge(weekly), _merge(off)) + extra)


def _merge(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _subtract(
    base: list[tuple[dt.datetime, dt.datetime]], holes: list[tuple[dt.datetime, dt.datetime]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for s, e in base:
        pieces = [(s, e)]
        for hs, he in holes:
            nxt = []
            for ps, pe in pieces:
                if he <= ps or hs >= pe:
                    nxt.append((ps, pe))
                    continue
                if hs > ps:
                    nxt.append((ps, hs))
                if he < pe:
                    nxt.append((he, pe))
            pieces = nxt
        out.extend(pieces)
    return out


def covers(intervals: list[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> bool:
    """Whether merged ``intervals`` hold all of [start, end)."""
    return any(s <= start and end <= e for s, e in intervals)
