"""Local days in the customer's zone, as SQL on PostgreSQL and SQLite.

Streaks and challenge days are calendar days where the customer lives: a workout at 23:30 in
Madrid belongs to that day, not to the next UTC day. Days are numbered from 1970-01-01 so that
consecutive days differ by one on both databases (gaps-and-islands). PostgreSQL converts with
``timezone(zone, ts)``; SQLite has no zones, so a deterministic SQL function ``cd_local_day``
is registered on the connection before a query uses it. An unknown zone name counts as UTC, as
in ``training.schedule``.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.customers import CustomerProfile

EPOCH = dt.date(1970, 1, 1)
SQLITE_FUNCTION = "cd_local_day"


@functools.lru_cache(maxsize=1024)
def zone(name: str | None) -> dt.tzinfo:
    """The named zone, or UTC for an empty or unknown name."""
    try:
        return ZoneInfo(name) if name else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def local_day_number(moment: dt.datetime, zone_name: str | None) -> int:
    """Python's reading of ``local_day``: the same number for the same instant and zone."""
    return day_number(moment.astimezone(zone(zone_name)).date())


def _sqlite_local_day(value: Any, zone_name: Any) -> int | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return local_day_number(moment, zone_name)


def prepare(session: Session) -> str:
    """Make ``cd_local_day`` callable on this session's connection (SQLite); returns the dialect name."""
    conn = session.connection()
    name = conn.dialect.name
    if name == "sqlite":
        raw = conn.connection.driver_connection
        raw.create_function(SQLITE_FUNCTION, 2, _sqlite_local_day, deterministic=True)  # type: ignore[union-attr]
    return name


def known_zones(session: Session) -> list[str]:
    """The customer zone names in use that both Python and the database can convert with."""
    names = session.scalars(sa.select(CustomerProfile.timezone).distinct()).all()
    return sorted(n for n in names if n and n != "UTC" and zone(n) is not dt.UTC)


def zone_of(profile_zone: Any, zones: list[str]) -> Any:
    """The customer's zone as SQL: a known name, else 'UTC' (no profile, empty or unknown)."""
    if not zones:
        return sa.literal("UTC")
    return sa.case((profile_zone.in_(zones), profile_zone), else_=sa.literal("UTC"))


def local_day(dialect: str, moment: Any, zone_sql: Any) -> Any:
    """The local calendar day of a UTC timestamp column (or bound value) as a day number."""
    if dialect == "postgresql":
        local = sa.cast(sa.func.timezone(zone_sql, moment), sa.Date)
        return sa.type_coerce(local - sa.cast(sa.literal(EPOCH.isoformat()), sa.Date), sa.Integer)
    return sa.func.cd_local_day(moment, zone_sql, type_=sa.Integer)
