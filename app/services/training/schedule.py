"""Where a program's items fall in a customer's calendar.

Dates are calendar dates in the customer's own timezone: week W, day D of a
program started on S (at week N) falls on S + 7*(W - N + 1) + D, whatever
daylight-saving change lies between; "today" (what is past, what may still
follow a program edit) is the customer's local today. Assigning, following and
the calendar all share these rules, so they live below all three.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from app.extensions import db
from app.models.customers import CustomerProfile
from app.models.training import ItemType, ProgramItem
from app.policy.scope import Actor, scope_criteria


def zone(name: str | None) -> ZoneInfo:
    """The customer's zone; an unknown or empty name falls back to UTC rather than failing an assignment."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(tz: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(tz).date()


def day_bounds_utc(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants a local calendar day starts and ends (23 or 25 hours long on DST changes)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def customer_zones(actor: Actor, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ZoneInfo]:
    """Each customer's zone from the profiles the actor may read (UTC where there is none)."""
    ids = list(customer_ids)
    rows = db.session.execute(
        sa.select(CustomerProfile.user_id, CustomerProfile.timezone).where(
            CustomerProfile.user_id.in_(ids), scope_criteria(CustomerProfile, actor)
        )
    )
    found = {uid: zone(tz) for uid, tz in rows}
    return {uid: found.get(uid, ZoneInfo("UTC")) for uid in ids}


@dataclass(frozen=True)
class Slot:
    """A program item reduced to what scheduling needs (no ORM object: cheap to reuse across customers)."""

    program_item_id: int
    item_type: ItemType
    item_id: int
    week: int
    day: int
    order: int


def program_slots(actor: Actor, program_id: int) -> list[Slot]:
    rows = db.session.execute(
        sa.select(
            ProgramItem.id,
            ProgramItem.item_type,
            ProgramItem.item_id,
            ProgramItem.week_index,
            ProgramItem.day_index,
            ProgramItem.order_index,
        )
        .where(ProgramItem.program_id == program_id, scope_criteria(ProgramItem, actor))
        .order_by(ProgramItem.week_index, ProgramItem.day_index, ProgramItem.order_index)
    )
    return [Slot(*row) for row in rows]


def slot_date(slot: Slot, start_date: dt.date, start_week: int) -> dt.date | None:
    """The calendar date of a slot, or None if it lies before the starting week."""
    offset = slot.week - (start_week - 1)
    if offset < 0:
        return None
    return start_date + dt.timedelta(days=7 * offset + slot.day)


def plan_end_date(weeks: int, start_date: dt.date, start_week: int) -> dt.date:
    return start_date + dt.timedelta(days=7 * (weeks - start_week + 1) - 1)
