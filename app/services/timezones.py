"""Console accounts' own time zones: which names are valid, and changing one.

A zone is valid when both ``zoneinfo`` (the system's IANA database) and pytz know it:
Flask-Babel turns the selected name into a pytz zone, so a name only one of them
knows would fail later, in the middle of rendering a page. ``None`` (or empty)
means "the configured default" (``BABEL_DEFAULT_TIMEZONE``).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass

import pytz
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models.identity import ConsoleUser

MAX_LENGTH = 64
# Names zoneinfo lists that are not places a person lives in.
_NOT_PLACES = frozenset({"Factory", "localtime"})


class TimezoneError(ValueError):
    """An unknown or malformed zone name; the message is for the person who typed it."""


@functools.cache
def available_zones() -> tuple[str, ...]:
    """Every selectable IANA zone name, sorted."""
    names = zoneinfo.available_timezones() & pytz.all_timezones_set
    return tuple(sorted(names - _NOT_PLACES))


@functools.cache
def _zone_set() -> frozenset[str]:
    return frozenset(available_zones())


def is_valid_zone(name: str) -> bool:
    return name in _zone_set()


def clean_zone(raw: str | None) -> str | None:
    """The zone to store for ``raw``: ``None`` for empty (use the default), else a valid name."""
    name = (raw or "").strip()
    if not name:
        return None
    if len(name) > MAX_LENGTH or not is_valid_zone(name):
        raise TimezoneError(_("Unknown time zone “%(zone)s”: choose one from the list.", zone=name[:MAX_LENGTH]))
    return name


def set_account_timezone(session: Session, account: ConsoleUser, raw: str | None) -> str | None:
    """Validate and store ``account``'s zone, in the caller's transaction (the audit trail records it)."""
    account.timezone = clean_zone(raw)
    session.flush()
    return account.timezone


def effective_zone(account: ConsoleUser | None, default: str) -> str:
    """The zone an account reads times in: its own when still valid, else ``default``."""
    name = getattr(account, "timezone", None) if account is not None else None
    return name if name and is_valid_zone(name) else default


def as_local(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``naive`` as wall time in ``zone`` (a pytz zone, as Flask-Babel hands out, needs ``localize()``)."""
    localize = getattr(zone, "localize", None)
    return localize(naive) if localize else naive.replace(tzinfo=zone)


def zone_name(zone: dt.tzinfo) -> str:
    """The IANA name of a pytz or zoneinfo zone."""
    return str(getattr(zone, "zone", zone))


@dataclass(frozen=True)
class ZoneLabel:
    name: str
    abbreviation: str
    offset: str

    def __str__(self) -> str:
        if self.abbreviation and self.abbreviation != self.name:
            return f"{self.name} ({self.abbreviation}, {self.offset})"
        return f"{self.name} ({self.offset})"


def describe_zone(tzinfo: dt.tzinfo, name: str, at: dt.datetime | None = None) -> ZoneLabel:
    """Name, abbreviation and UTC offset of ``tzinfo`` at ``at`` (now), e.g. CET and UTC+01:00."""
    local = (at or dt.datetime.now(dt.UTC)).astimezone(tzinfo)
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    abbreviation = local.tzname() or ""
    if abbreviation.startswith(("+", "-")):  # zones without a letter abbreviation say "+03"
        abbreviation = ""
    return ZoneLabel(name, abbreviation, f"UTC{sign}{hours:02d}:{mins:02d}")
