"""Billing periods: monthly steps from an anchor day, and "today" in the customer's own time zone.

A period is ``[start, end)``; the next period starts on ``end``. Periods step by whole months from
the anchor day: an anchor of 31 gives Jan 31 -> Feb 28 (29 in a leap year) -> Mar 31, because every
step is computed from the anchor, never from the clamped date before it. A Feb 29 anchor is day 29
of each month (Feb 28 in common years).
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.customers import CustomerProfile

UTC = ZoneInfo("UTC")


def on_anchor(year: int, month: int, anchor_day: int) -> dt.date:
    """The anchor day in that month, clamped to the month's last day."""
    return dt.date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def add_months(start: dt.date, months: int, anchor_day: int | None = None) -> dt.date:
    """``start`` moved by ``months`` whole months, landing on ``anchor_day`` (default: ``start``'s day)."""
    index = start.year * 12 + start.month - 1 + months
    return on_anchor(index // 12, index % 12 + 1, anchor_day or start.day)


def period_after(start: dt.date, interval_months: int, anchor_day: int) -> tuple[dt.date, dt.date]:
    """The period that starts on ``start`` and ends ``interval_months`` later on the anchor day."""
    return start, add_months(start, interval_months, anchor_day)


def zone(name: str | None) -> ZoneInfo:
    """An IANA zone; an unknown or empty name is UTC (a bad profile value must not stop billing)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_today(tz: ZoneInfo, now: dt.datetime) -> dt.date:
    """The calendar date at ``now`` in ``tz`` (DST handled by zoneinfo)."""
    return now.astimezone(tz).date()


def customer_zone(session: Session, customer_id: uuid.UUID) -> ZoneInfo:
    name = session.scalar(sa.select(CustomerProfile.timezone).where(CustomerProfile.user_id == customer_id))
    return zone(name)


def customer_today(session: Session, customer_id: uuid.UUID, now: dt.datetime) -> dt.date:
    """The date it is for the customer at ``now``: renewals and pauses follow the customer's calendar."""
    return local_today(customer_zone(session, customer_id), now)


def local_midnight_utc(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant ``day`` starts in ``tz`` (a DST day is 23 or 25 hours long)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
