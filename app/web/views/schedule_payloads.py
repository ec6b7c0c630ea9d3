"""The calendar's JSON shapes: sessions as FullCalendar events, availability as background blocks, a roster.

The page runs FullCalendar in UTC coercion: every time sent is wall-clock text in the viewer's zone
without an offset (``schedule_input.wall_clock``), so the grid shows the viewer's clock whatever the
browser's own zone is. A session kept in another zone also carries its own wall-clock times and
zone, which the event shows beside the viewer's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor
from app.web.views.schedule_input import wall_clock


def grants(actor: Actor, resource: str, action: str = WRITE) -> bool:
    """Whether any of the actor's console roles holds ``action`` on ``resource`` (the role matrix in roles.py)."""
    return any(allowed(role, resource, action) for role in actor.roles)


def _zone(name: str | None) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError, OSError):
        return dt.UTC


def event_json(ev: Any, zone: dt.tzinfo, zone_name: str, *, editable: bool) -> dict[str, Any]:
    """One session as a FullCalendar event (start/end in the viewer's wall clock)."""
    own = None
    if ev.timezone and ev.timezone != zone_name:
        own_zone = _zone(ev.timezone)
        own = {"zone": ev.timezone, "start": wall_clock(ev.start, own_zone), "end": wall_clock(ev.end, own_zone)}
    status = str(ev.status)
    return {
        "id": str(ev.id),
        "title": ev.title or "",
        "start": wall_clock(ev.start, zone),
        "end": wall_clock(ev.end, zone),
        "classNames": [f"cd-type-{ev.session_type}", f"cd-status-{status}"],
        "editable": editable and status == "SCHEDULED",
        "extendedProps": {
            "kind": "session",
            "session_type": str(ev.session_type),
            "status": status,
            "timezone": ev.timezone,
            "own": own,
            "coach_id": str(ev.coach_id) if ev.coach_id else None,
            "coach_name": ev.coach_name,
            "location": ev.location,
            "join_link": ev.join_link,
            "capacity": ev.capacity,
            "booked": ev.booked,
            "waitlisted": ev.waitlisted,
            "series_id": ev.series_id,
            "version": ev.version,
        },
    }


def block_json(block: Any, zone: dt.tzinfo, *, editing: bool) -> dict[str, Any]:
    """One availability block: a background event, or (while editing availability) a clickable one."""
    kind = str(block.kind)
    return {
        "id": f"{block.source}-{block.source_id}-{block.start.isoformat()}",
        "start": wall_clock(block.start, zone),
        "end": wall_clock(block.end, zone),
        "display": "auto" if editing else "background",
        "editable": editing and block.source == "weekly",
        "classNames": ["cd-avail", f"cd-avail-{kind}", f"cd-avail-{block.source}"],
        "extendedProps": {
            "kind": "availability",
            "block_kind": kind,
            "source": block.source,
            "source_id": block.source_id,
            "coach_id": str(block.coach_id),
        },
    }


def _person(p: Any) -> dict[str, Any]:
    customer = getattr(p, "customer", None)
    return {
        "customer_id": str(p.customer_id),
        "name": getattr(customer, "full_name", None) or getattr(customer, "email", None) or str(p.customer_id),
        "role": str(p.role),
        "attendance": str(p.attendance_status),
        "feedback": p.feedback_score,
        "booked_at": p.booked_at.isoformat() if p.booked_at else None,
        "cancelled_at": p.cancelled_at.isoformat() if p.cancelled_at else None,
    }


def session_json(session: Any, zone: dt.tzinfo, zone_name: str) -> dict[str, Any]:
    own_zone = _zone(session.timezone)
    coach = getattr(session, "coach", None)
    return {
        "id": session.id,
        "title": session.title or "",
        "session_type": str(session.session_type),
        "status": str(session.status),
        "start": wall_clock(session.start_time, zone),
        "end": wall_clock(session.end_time, zone),
        "timezone": session.timezone,
        "viewer_zone": zone_name,
        "own_start": wall_clock(session.start_time, own_zone),
        "own_end": wall_clock(session.end_time, own_zone),
        "location": session.location,
        "join_link": session.join_link,
        "capacity": session.capacity,
        "coach_id": str(session.coach_id) if session.coach_id else None,
        "coach_name": getattr(coach, "full_name", None),
        "series_id": session.series_id,
        "version": session.version,
    }


def roster_json(roster: Any, zone: dt.tzinfo, zone_name: str) -> dict[str, Any]:
    """The panel's data: the session, the seats in booking order, the queue in order, the cancelled."""
    waitlist = []
    for position, (participant, entry) in enumerate(roster.waitlist, start=1):
        row = _person(participant)
        row["position"] = position
        row["joined_at"] = entry.joined_at.isoformat() if entry is not None and entry.joined_at else None
        waitlist.append(row)
    return {
        "session": session_json(roster.session, zone, zone_name),
        "booked": [_person(p) for p in roster.booked],
        "waitlist": waitlist,
        "cancelled": [_person(p) for p in roster.cancelled],
    }


def person_name(participant: Any) -> str:
    customer = getattr(participant, "customer", None)
    return getattr(customer, "full_name", None) or str(getattr(participant, "customer_id", ""))
