"""Checks on the values a schedule change carries: times, zones, titles, links, capacities.

Each check raises SchedulingError naming the field, with a message for the person, so a bad value
answers 4xx and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from app.i18n import service_gettext as _
from app.models.scheduling import SessionType
from app.services.scheduling.errors import SchedulingError
from app.services.scheduling.recurrence import MAX_YEAR, MIN_YEAR
from app.services.timezones import is_valid_zone

MAX_TITLE = 200
MAX_LOCATION = 200
MAX_LINK = 2000
MAX_CAPACITY = 1000
MAX_SESSION_LENGTH = dt.timedelta(hours=24)


def aware(value: Any, field: str) -> dt.datetime:
    """An aware datetime in UTC, inside the years the calendar accepts."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise SchedulingError(_("Give a date and time with its time zone."), field=field)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise SchedulingError(_("Dates must lie between %(a)s and %(b)s.", a=MIN_YEAR, b=MAX_YEAR), field=field)
    return value.astimezone(dt.UTC)


def span(
    start: Any, end: Any, *, max_length: dt.timedelta | None = MAX_SESSION_LENGTH
) -> tuple[dt.datetime, dt.datetime]:
    start, end = aware(start, "start"), aware(end, "end")
    if end <= start:
        raise SchedulingError(_("The end must be after the start."), field="end")
    if max_length is not None and end - start > max_length:
        raise SchedulingError(_("A session lasts at most 24 hours."), field="end")
    return start, end


def not_past(start: dt.datetime, now: dt.datetime) -> None:
    if start < now:
        raise SchedulingError(_("A session cannot be scheduled in the past."), field="start")


def zone(value: Any) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name or not is_valid_zone(name):
        raise SchedulingError(_("Unknown time zone “%(zone)s”.", zone=str(value)[:64]), field="timezone")
    return name


def title(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise SchedulingError(_("Give the session a title."), field="title")
    if len(text) > MAX_TITLE:
        raise SchedulingError(_("The title is at most %(n)s characters.", n=MAX_TITLE), field="title")
    return text


def location(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SchedulingError(_("The location must be text."), field="location")
    text = value.strip()
    if len(text) > MAX_LOCATION:
        raise SchedulingError(_("The location is at most %(n)s characters.", n=MAX_LOCATION), field="location")
    return text or None


def join_link(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else ""
    parts = urlsplit(text) if text else None
    if not parts or parts.scheme not in ("http", "https") or not parts.netloc or len(text) > MAX_LINK:
        raise SchedulingError(
            _("The join link must be a web address starting with https:// or http://."), field="join_link"
        )
    return text


def capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
        raise SchedulingError(_("Capacity must be a whole number from 1 to %(n)s.", n=MAX_CAPACITY), field="capacity")
    return value


def session_type(value: Any) -> SessionType:
    try:
        return SessionType(value)
    except ValueError:
        raise SchedulingError(_("Unknown session type."), field="session_type") from None
