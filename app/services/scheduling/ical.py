"""iCalendar exports: a coach's secret-address feed, and one session as an ``.ics`` download.

The feed address carries a random token (``secrets.token_urlsafe(32)``, 256 bits); only its SHA-256
is stored, so a leaked database does not leak working addresses, and rotating replaces the hash:
the old address stops working at once. A feed holds the coach's own sessions from 30 days back to
180 days ahead, cancelled ones as STATUS:CANCELLED so subscribed calendars remove them, and no
customer data at all (no roster, names or emails): calendar apps sync feeds to third parties.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.identity import PlatformUser
from app.models.scheduling import CalendarFeed, ScheduledSession, SessionStatus
from app.policy.roles import READ
from app.policy.scope import Actor
from app.services.scheduling.access import coach_for, require
from app.services.scheduling.sessions import get_session

RESOURCE = "Calendar"
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=180)
MAX_FEED_EVENTS = 5000
UID_DOMAIN = "coachdesk"
PRODID = "-//Coachdesk//Schedule//EN"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


# --- the feed's secret -----------------------------------------------------------------------------------------


def rotate_feed(db: Session, actor: Actor, coach_id: uuid.UUID | str | None, *, now: dt.datetime | None = None) -> str:
    """A new secret feed address token for the coach (a coach: their own), replacing any old one.

    The plain token is returned once, to show the address; only its hash is kept.
    """
    require(actor, RESOURCE)
    coach = coach_for(db, actor, coach_id)
    token = secrets.token_urlsafe(32)
    feed = db.scalars(sa.select(CalendarFeed).where(CalendarFeed.coach_id == coach)).first()
    if feed is None:
        db.add(CalendarFeed(coach_id=coach, token_hash=_digest(token), created_at=_now(now)))
    else:
        feed.token_hash = _digest(token)
        feed.rotated_at = _now(now)
    db.flush()
    return token


def revoke_feed(db: Session, actor: Actor, coach_id: uuid.UUID | str | None) -> bool:
    """Switch the coach's feed off (its address stops working); False when there was none."""
    require(actor, RESOURCE)
    coach = coach_for(db, actor, coach_id)
    feed = db.scalars(sa.select(CalendarFeed).where(CalendarFeed.coach_id == coach)).first()
    if feed is None:
        return False
    db.delete(feed)
    db.flush()
    return True


def feed_status(db: Session, actor: Actor, coach_id: uuid.UUID | str | None) -> dict[str, Any]:
    """Whether the coach has a feed, and when it was made and last rotated (never the token or its hash)."""
    require(actor, RESOURCE, READ)
    coach = coach_for(db, actor, coach_id)
    row = db.execute(
        sa.select(CalendarFeed.created_at, CalendarFeed.rotated_at).where(CalendarFeed.coach_id == coach)
    ).first()
    if row is None:
        return {"exists": False, "coach_id": str(coach), "created_at": None, "rotated_at": None}
    return {
        "exists": True,
        "coach_id": str(coach),
        "created_at": row.created_at.isoformat(),
        "rotated_at": row.rotated_at.isoformat() if row.rotated_at else None,
    }


# --- rendering -----------------------------------------------------------------------------------------------


def _event(session: Any, stamp: dt.datetime) -> icalendar.Event:
    tz = ZoneInfo(session.timezone)
    event = icalendar.Event()
    event.add("uid", f"session-{session.id}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.start_time.astimezone(tz))
    event.add("dtend", session.end_time.astimezone(tz))
    event.add("summary", session.title or session.session_type.value)
    event.add("sequence", max(0, session.version - 1))
    event.add("categories", [session.session_type.value])
    if session.location:
        event.add("location", session.location)
    if session.join_link:
        event.add("url", session.join_link)
        event.add("description", session.join_link)
    event.add("status", "CANCELLED" if session.status == SessionStatus.CANCELLED else "CONFIRMED")
    return event


def _calendar(name: str, sessions: Iterable[Any], now: dt.datetime) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for session in sessions:
        cal.add_component(_event(session, now))
    cal.add_missing_timezones()
    return cal.to_ical()


_COLUMNS = (
    ScheduledSession.id,
    ScheduledSession.title,
    ScheduledSession.session_type,
    ScheduledSession.status,
    ScheduledSession.start_time,
    ScheduledSession.end_time,
    ScheduledSession.timezone,
    ScheduledSession.location,
    ScheduledSession.join_link,
    ScheduledSession.version,
)


def feed_ics(db: Session, token: str, *, now: dt.datetime | None = None) -> bytes | None:
    """The coach's feed for a valid token, or None (unknown, rotated or malformed: the same answer)."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        return None
    digest = _digest(token)
    feed = db.execute(
        sa.select(CalendarFeed.coach_id, CalendarFeed.token_hash).where(CalendarFeed.token_hash == digest)
    ).first()
    # The lookup is by the hash of the token, so its timing says nothing about the token; the
    # comparison confirms it without a data-dependent early exit.
    if feed is None or not hmac.compare_digest(feed.token_hash, digest):
        return None
    now = _now(now)
    stmt = (
        sa.select(*_COLUMNS)
        .where(
            ScheduledSession.coach_id == feed.coach_id,
            ScheduledSession.start_time >= now - FEED_PAST,
            ScheduledSession.start_time < now + FEED_AHEAD,
        )
        .order_by(ScheduledSession.start_time, ScheduledSession.id)
        .limit(MAX_FEED_EVENTS)
    )
    coach_name = db.scalar(sa.select(PlatformUser.full_name).where(PlatformUser.id == feed.coach_id)) or ""
    return _calendar(_("Coachdesk: %(name)s", name=coach_name), db.execute(stmt), now)


def session_ics(db: Session, actor: Actor, session_id: int, *, now: dt.datetime | None = None) -> bytes:
    """One session as an ``.ics`` file, for a session the actor may see (NotFound otherwise)."""
    require(actor, RESOURCE, READ)
    session = get_session(db, actor, session_id)
    return _calendar(session.title or session.session_type.value, [session], _now(now))
