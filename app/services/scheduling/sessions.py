"""Creating, moving, editing and cancelling scheduled sessions and recurring series.

Every change is validated whole before a row is touched, checked for conflicts (the coach
double-booked, outside availability, the room taken; "save anyway" only with the ScheduleOverride
grant), guarded by the session's edit counter (``version``: a stale edit is refused), and flushed
through the ORM so the audit hooks record it. The caller commits.

A coach creates and changes only their own sessions (row scope, ``for_write``) and cannot hand one
to another coach; staff with write on ScheduledSessions choose the coach. Capacity is not changed
here: the booking engine owns it (``booking.set_capacity`` promotes from the waitlist when it grows).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.scheduling import ScheduledSession, SessionSeries, SessionStatus, SessionType
from app.policy.scope import Actor, scope_criteria
from app.services import events
from app.services.scheduling import booking, inputs
from app.services.scheduling.access import MAX_ID, coach_for, require
from app.services.scheduling.conflicts import conflicts_for_spans, may_override
from app.services.scheduling.errors import Conflict, ConflictError, Forbidden, NotFound, SchedulingError, StaleEdit
from app.services.scheduling.recurrence import Repeat, occurrences, remaining_rule, rrule_text, to_utc

RESOURCE = "ScheduledSessions"
SCOPES = ("one", "following")
EDITABLE = frozenset({"title", "session_type", "start", "end", "timezone", "location", "join_link", "coach_id"})


@dataclass
class SessionDraft:
    """A new session (or a series' first occurrence) as the person entered it; times are aware."""

    title: str
    session_type: SessionType | str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    capacity: int
    coach_id: uuid.UUID | str | None
    location: str | None = None
    join_link: str | None = None


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def _check_override(actor: Actor, override: bool) -> None:
    if override and not may_override(actor):
        raise Forbidden(_("You may not save a session that conflicts with the schedule."), field="override")


def _refuse_conflicts(
    actor: Actor, override: bool, spans: list[tuple[dt.datetime, dt.datetime]], found: list[list[Conflict]], tz: str
) -> None:
    """ConflictError listing every clash (dated when there are several occurrences), unless overridden."""
    flat: list[Conflict] = []
    for (start, _end), conflicts in zip(spans, found, strict=True):
        for c in conflicts:
            if len(spans) > 1:
                day = start.astimezone(ZoneInfo(tz)).date().isoformat()
                c = Conflict(c.kind, _("%(day)s: %(reason)s", day=day, reason=c.message), c.session_id)
            flat.append(c)
    if not flat or override:
        return
    raise ConflictError(_("This clashes with the schedule."), flat, overridable=may_override(actor))


def _local(moment: dt.datetime, tz: str) -> dt.datetime:
    """Naive wall-clock time of ``moment`` in ``tz``."""
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


# --- create --------------------------------------------------------------------------------------------------


def create_sessions(
    db: Session,
    actor: Actor,
    draft: SessionDraft,
    *,
    repeat: Repeat | None = None,
    override: bool = False,
    now: dt.datetime | None = None,
) -> list[ScheduledSession]:
    """One session, or a series (one SessionSeries row and its occurrences), flushed and returned in order.

    A series' occurrences keep the draft's wall-clock start and length in its zone, so they stay at
    the same local time across daylight-saving changes.
    """
    require(actor, RESOURCE)
    _check_override(actor, override)
    fields = {
        "title": inputs.title(draft.title),
        "session_type": inputs.session_type(draft.session_type),
        "timezone": inputs.zone(draft.timezone),
        "capacity": inputs.capacity(draft.capacity),
        "location": inputs.location(draft.location),
        "join_link": inputs.join_link(draft.join_link),
    }
    start, end = inputs.span(draft.start, draft.end)
    coach = coach_for(db, actor, draft.coach_id)
    tz = fields["timezone"]
    if repeat is None:
        spans = [(start, end)]
    else:
        local_start, local_end = _local(start, tz), _local(end, tz)
        starts = occurrences(local_start, tz, repeat)
        zone = ZoneInfo(tz)
        spans = []
        for s in starts:
            wall = _local(s, tz)
            spans.append((s, to_utc(wall + (local_end - local_start), zone)))
    inputs.not_past(spans[0][0], _now(now))
    found = conflicts_for_spans(db, coach_id=coach, spans=spans, location=fields["location"])
    _refuse_conflicts(actor, override, spans, found, tz)

    series = None
    if repeat is not None:
        series = SessionSeries(coach_id=coach, rrule=rrule_text(repeat, zone=tz), timezone=tz)
        db.add(series)
        db.flush()
    sessions = [
        ScheduledSession(
            **fields,
            start_time=s,
            end_time=e,
            coach_id=coach,
            status=SessionStatus.SCHEDULED,
            series_id=series.id if series else None,
            version=1,
        )
        for s, e in spans
    ]
    db.add_all(sessions)
    db.flush()
    return sessions


# --- loading -------------------------------------------------------------------------------------------------


def get_session(db: Session, actor: Actor, session_id: int, *, for_write: bool = False) -> ScheduledSession:
    """A session in the actor's scope (read, or write with ``for_write``, locked on PostgreSQL), or NotFound."""
    row = None
    if isinstance(session_id, int) and not isinstance(session_id, bool) and 1 <= session_id <= MAX_ID:
        stmt = sa.select(ScheduledSession).where(
            ScheduledSession.id == session_id, scope_criteria(ScheduledSession, actor, for_write=for_write)
        )
        if for_write:
            stmt = stmt.with_for_update(of=ScheduledSession)
        row = db.scalars(stmt).unique().first()
    if row is None:
        raise NotFound(_("This session was not found."))
    return row


def _open_for_change(db: Session, actor: Actor, session_id: int, version: Any, scope: str) -> ScheduledSession:
    require(actor, RESOURCE)
    if scope not in SCOPES:
        raise SchedulingError(_("Choose this session only, or this and the following ones."), field="scope")
    session = get_session(db, actor, session_id, for_write=True)
    if isinstance(version, bool) or not isinstance(version, int) or version != session.version:
        raise StaleEdit(
            _("Someone else changed this session since you opened it. Reload and try again."),
            current_version=session.version,
        )
    if session.status == SessionStatus.CANCELLED:
        raise SchedulingError(_("This session is cancelled and cannot be changed."))
    return session


def _targets(db: Session, actor: Actor, session: ScheduledSession, scope: str) -> list[ScheduledSession]:
    """The session, or it and the later, not cancelled occurrences of its series (in the actor's write scope)."""
    if scope == "one" or session.series_id is None:
        return [session]
    stmt = (
        sa.select(ScheduledSession)
        .where(
            ScheduledSession.series_id == session.series_id,
            ScheduledSession.start_time >= session.start_time,
            ScheduledSession.status != SessionStatus.CANCELLED,
            scope_criteria(ScheduledSession, actor, for_write=True),
        )
        .order_by(ScheduledSession.start_time, ScheduledSession.id)
        .with_for_update(of=ScheduledSession)
    )
    later = [s for s in db.scalars(stmt).unique() if s.id != session.id]
    return [session, *later]


# --- update --------------------------------------------------------------------------------------------------


def update_session(
    db: Session,
    actor: Actor,
    session_id: int,
    *,
    version: int,
    changes: Mapping[str, Any],
    scope: str = "one",
    override: bool = False,
    now: dt.datetime | None = None,
) -> list[ScheduledSession]:
    """Move, resize or edit a session (``scope="one"``) or it and the later occurrences of its series
    (``"following"``: the same wall-clock shift, length and field changes; the series splits there).

    ``changes`` may hold title, session_type, start, end (aware), timezone, location, join_link and
    coach_id. Capacity is the booking engine's (``booking.set_capacity``). Returns the changed sessions.
    """
    if "capacity" in changes:
        raise SchedulingError(
            _("Change the capacity from the roster, where waiting customers are promoted."), field="capacity"
        )
    unknown = set(changes) - EDITABLE
    if unknown:
        raise SchedulingError(_("These fields cannot be changed: %(names)s.", names=", ".join(sorted(unknown))))
    session = _open_for_change(db, actor, session_id, version, scope)
    _check_override(actor, override)
    now = _now(now)

    fields: dict[str, Any] = {}
    if "title" in changes:
        fields["title"] = inputs.title(changes["title"])
    if "session_type" in changes:
        fields["session_type"] = inputs.session_type(changes["session_type"])
    if "location" in changes:
        fields["location"] = inputs.location(changes["location"])
    if "join_link" in changes:
        fields["join_link"] = inputs.join_link(changes["join_link"])
    if "coach_id" in changes:
        fields["coach_id"] = coach_for(db, actor, changes["coach_id"])
    old_tz = session.timezone
    new_tz = inputs.zone(changes["timezone"]) if "timezone" in changes else old_tz
    if new_tz != old_tz:
        fields["timezone"] = new_tz
    new_start, new_end = inputs.span(changes.get("start", session.start_time), changes.get("end", session.end_time))

    targets = _targets(db, actor, session, scope)
    # The same wall-clock shift and length for every target, computed in the zones' own clocks.
    shift = _local(new_start, new_tz) - _local(session.start_time, old_tz)
    length = _local(new_end, new_tz) - _local(new_start, new_tz)
    zone = ZoneInfo(new_tz)
    spans = []
    for target in targets:
        if target is session:
            spans.append((new_start, new_end))
            continue
        wall = _local(target.start_time, old_tz) + shift
        spans.append((to_utc(wall, zone), to_utc(wall + length, zone)))
    times_change = any((s, e) != (t.start_time, t.end_time) for t, (s, e) in zip(targets, spans, strict=True))
    if times_change:
        inputs.not_past(min(s for s, _e in spans), now)
        for s, e in spans:
            inputs.span(s, e)
    elif session.end_time < now and fields:
        raise SchedulingError(_("A session that has ended cannot be changed."))

    coach = fields.get("coach_id", session.coach_id)
    location = fields.get("location", session.location)
    if times_change or "coach_id" in fields or "location" in fields:
        found = conflicts_for_spans(
            db, coach_id=coach, spans=spans, location=location, exclude_ids=[t.id for t in targets]
        )
        _refuse_conflicts(actor, override, spans, found, new_tz)

    changed: list[ScheduledSession] = []
    for target, (s, e) in zip(targets, spans, strict=True):
        old_start, old_end = target.start_time, target.end_time
        updates = {k: v for k, v in fields.items() if getattr(target, k) != v}
        if (s, e) != (old_start, old_end):
            updates["start_time"], updates["end_time"] = s, e
        if not updates:
            continue
        for key, value in updates.items():
            setattr(target, key, value)
        target.version = target.version + 1
        changed.append(target)
        if "start_time" in updates:
            events.emit(
                db,
                events.SESSION_RESCHEDULED,
                session_id=target.id,
                old_start=old_start,
                old_end=old_end,
                new_start=s,
                new_end=e,
            )
    if scope == "following" and session.series_id is not None and changed:
        _split_series(db, session, targets, new_tz, coach)
    db.flush()
    return changed


def _split_series(
    db: Session, session: ScheduledSession, targets: list[ScheduledSession], tz: str, coach: uuid.UUID | None
) -> None:
    """Give ``targets`` (this and the following occurrences) their own series, unless they are the whole series.

    The rule of each part is recomputed: the days the part now falls on, and COUNT for the
    occurrences it holds (an UNTIL rule keeps its end date).
    """
    old = db.get(SessionSeries, session.series_id)
    if old is None:
        return
    earlier = db.scalar(
        sa.select(sa.func.count())
        .select_from(ScheduledSession)
        .where(ScheduledSession.series_id == old.id, ScheduledSession.start_time < session.start_time)
    )
    rule = _with_days(old.rrule, {_local(t.start_time, tz).weekday() for t in targets})
    if not earlier:
        old.rrule, old.timezone, old.coach_id = remaining_rule(rule, count=_count(old.rrule, len(targets))), tz, coach
        return
    old.rrule = _until(remaining_rule(old.rrule, count=_count(old.rrule, earlier)), session.start_time)
    part = SessionSeries(coach_id=coach, rrule=remaining_rule(rule, count=_count(rule, len(targets))), timezone=tz)
    db.add(part)
    db.flush()
    for target in targets:
        target.series_id = part.id


def _count(rule: str, n: int) -> int | None:
    """COUNT for a part holding ``n`` occurrences, if the rule counts (an UNTIL rule does not)."""
    return n if any(p.startswith("COUNT=") for p in rule.split(";")) else None


def _until(rule: str, split_at: dt.datetime) -> str:
    """An UNTIL rule's earlier part ends just before the split."""
    until = "UNTIL=" + (split_at - dt.timedelta(seconds=1)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return ";".join(until if p.startswith("UNTIL=") else p for p in rule.split(";"))


def _with_days(rule: str, weekdays: set[int]) -> str:
    codes = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
    byday = "BYDAY=" + ",".join(codes[d] for d in sorted(weekdays))
    return ";".join(byday if p.startswith("BYDAY=") else p for p in rule.split(";"))


# --- cancel --------------------------------------------------------------------------------------------------


def cancel_sessions(
    db: Session,
    actor: Actor,
    session_id: int,
    *,
    version: int,
    scope: str = "one",
    now: dt.datetime | None = None,
) -> list[ScheduledSession]:
    """Cancel a session, or it and the later occurrences of its series; returns the cancelled ones.

    A session that has already ended is not cancelled (its attendance is history).
    """
    session = _open_for_change(db, actor, session_id, version, scope)
    now = _now(now)
    if session.end_time <= now:
        raise SchedulingError(_("A session that has ended cannot be cancelled."))
    targets = _targets(db, actor, session, scope)
    for target in targets:
        booking.cancel_session(db, actor, target.id, now=now)
    db.flush()
    return targets
