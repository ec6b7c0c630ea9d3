"""Reading the calendar's requests: every value checked for type and range, refused with a message.

The calendar's script sends wall-clock times in the viewer's zone ("2026-12-03T09:30", the way
FullCalendar hands them over); an explicit offset ("...Z", "+01:00") is honoured too. Anything a
person could not have meant (a year 99999, a number past any seat count, a list where a number
belongs) is refused here, before a service sees it, with a translated message naming the field.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify
from flask_babel import get_timezone
from flask_babel import gettext as _

from app.services.scheduling.errors import SchedulingError
from app.services.timezones import is_valid_zone, zone_name
from app.web.views.json_api import read_json_body

MIN_YEAR = 1970
MAX_YEAR = 2200
MAX_RANGE = dt.timedelta(days=62)  # a month view with its padding (the calendar service's own limit)
MAX_TEXT = 200
MAX_LINK = 2000
MAX_CAPACITY = 10_000
MAX_IDS = 500


class InputError(Exception):
    """A request value the calendar cannot use; ``message`` is translated and names the field."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message, "code": "invalid"}
        if self.field:
            out["field"] = self.field
        return out


def viewer_zone_name() -> str:
    """The IANA name of the zone this request's pages show times in (the console account's own)."""
    return zone_name(get_timezone())


def viewer_zone() -> ZoneInfo:
    return ZoneInfo(viewer_zone_name())


def _year_ok(value: dt.date, field: str) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InputError(
            _("%(field)s must be between the years %(lo)s and %(hi)s.", field=field, lo=MIN_YEAR, hi=MAX_YEAR), field
        )


def as_text(value: Any, field: str, *, max_len: int = MAX_TEXT, required: bool = False) -> str | None:
    """A trimmed string (``None`` when empty and optional)."""
    if value is None or value == "":
        if required:
            raise InputError(_("%(field)s is required.", field=field), field)
        return None
    if not isinstance(value, str):
        raise InputError(_("%(field)s must be text.", field=field), field)
    value = value.strip()
    if "\x00" in value:
        raise InputError(_("%(field)s contains a character that is not allowed.", field=field), field)
    if len(value) > max_len:
        raise InputError(_("%(field)s is too long (at most %(n)s characters).", field=field, n=max_len), field)
    if required and not value:
        raise InputError(_("%(field)s is required.", field=field), field)
    return value or None


def as_int(value: Any, field: str, *, lo: int, hi: int, required: bool = True) -> int | None:
    """A whole number in ``lo..hi`` (a JSON number: text, floats and booleans are refused)."""
    if value is None or value == "":
        if required:
            raise InputError(_("%(field)s is required.", field=field), field)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(_("%(field)s must be a whole number.", field=field), field)
    if not lo <= value <= hi:
        raise InputError(_("%(field)s must be between %(lo)s and %(hi)s.", field=field, lo=lo, hi=hi), field)
    return value


def as_bool(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(_("%(field)s must be true or false.", field=field), field)
    return value


def as_uuid(value: Any, field: str, *, required: bool = True) -> uuid.UUID | None:
    if value is None or value == "":
        if required:
            raise InputError(_("%(field)s is required.", field=field), field)
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise InputError(_("%(field)s is not a valid identifier.", field=field), field)
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InputError(_("%(field)s is not a valid identifier.", field=field), field) from None


def as_uuid_list(value: Any, field: str) -> list[uuid.UUID]:
    """One identifier or a list of them (at most ``MAX_IDS``), without repeats, in the order given."""
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_IDS:
        raise InputError(_("%(field)s must list between 1 and %(n)s people.", field=field, n=MAX_IDS), field)
    ids = [as_uuid(v, field) for v in items]
    return list(dict.fromkeys(i for i in ids if i is not None))


def as_choice(value: Any, field: str, choices: Mapping[str, Any] | tuple[str, ...], *, required: bool = True) -> Any:
    if value is None or value == "":
        if required:
            raise InputError(_("%(field)s is required.", field=field), field)
        return None
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(choices)
        raise InputError(_("%(field)s must be one of: %(allowed)s.", field=field, allowed=allowed), field)
    return choices[value] if isinstance(choices, Mapping) else value


def as_zone(value: Any, field: str, *, default: str | None = None) -> str:
    if value is None or value == "":
        if default is not None:
            return default
        raise InputError(_("%(field)s is required.", field=field), field)
    if not isinstance(value, str) or len(value) > 64 or not is_valid_zone(value):
        raise InputError(_("%(field)s is not a known time zone.", field=field), field)
    return value


def as_date(value: Any, field: str, *, required: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            raise InputError(_("%(field)s is required.", field=field), field)
        return None
    if not isinstance(value, str) or len(value) > 10:
        raise InputError(_("%(field)s must be a date (YYYY-MM-DD).", field=field), field)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(_("%(field)s must be a date (YYYY-MM-DD).", field=field), field) from None
    _year_ok(day, field)
    return day


def as_datetime(value: Any, field: str, zone: dt.tzinfo, *, required: bool = True) -> dt.datetime | None:
    """An aware UTC datetime from ISO text; wall-clock text (no offset) is read in ``zone``."""
    if value is None or value == "":
        if required:
            raise InputError(_("%(field)s is required.", field=field), field)
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise InputError(_("%(field)s must be a date and time (YYYY-MM-DDTHH:MM).", field=field), field)
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise InputError(_("%(field)s must be a date and time (YYYY-MM-DDTHH:MM).", field=field), field) from None
    _year_ok(moment, field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def as_time(value: Any, field: str) -> dt.time:
    if not isinstance(value, str) or len(value) > 8:
        raise InputError(_("%(field)s must be a time (HH:MM).", field=field), field)
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise InputError(_("%(field)s must be a time (HH:MM).", field=field), field) from None


def time_range(args: Mapping[str, Any], zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The ``start``/``end`` of a calendar fetch: both required, end after start, at most ``MAX_RANGE`` apart."""
    start = as_datetime(args.get("start"), "start", zone)
    end = as_datetime(args.get("end"), "end", zone)
    assert start is not None and end is not None
    if end <= start:
        raise InputError(_("end must be after start."), "end")
    if end - start > MAX_RANGE:
        raise InputError(_("The range is too long (at most %(n)s days).", n=MAX_RANGE.days), "end")
    return start, end


MAX_BODY = 64 * 1024


def json_object() -> dict[str, Any]:
    """The request's JSON body as an object: malformed JSON, more than 64 KB, or a list or a number where
    an object belongs are refused."""
    payload, error = read_json_body(MAX_BODY)
    if error is not None:
        response, _status = error
        raise InputError(response.get_json()["error"])
    if not isinstance(payload, dict):
        raise InputError(_("The request body must be a JSON object."))
    return payload


def wall_clock(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """``moment`` as wall-clock text in ``zone`` without an offset: what the calendar (in UTC coercion) shows."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes")


def answers_json(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a refused request (bad input, or a service's refusal) into its JSON message and 4xx status."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (InputError, SchedulingError) as exc:
            return jsonify(exc.as_dict()), exc.status

    return wrapper
