"""Keep the engagement rollups up to date from the raw events.

``refresh_rollups`` recomputes a trailing window (default: from the start of the
previous month) with DELETE + INSERT ... SELECT ... GROUP BY in one transaction, so it
is idempotent and a rerun after a crash converges; ``since=None`` rebuilds everything.
The aggregation runs entirely in the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.analytics import EngagementEvent
from app.models.identity import PlatformUser
from app.models.rollups import CustomerActivityMonthly, EngagementDaily
from app.services import charting as ch
from app.services.reports import customer_ids


@dataclass
class RollupResult:
    since: dt.date | None
    daily_rows: int
    monthly_rows: int


def default_since(today: dt.date | None = None) -> dt.date:
    """Start of the previous month: late events for last month are still picked up."""
    today = today or dt.datetime.now(dt.UTC).date()
    return ch.floor_date(today.replace(day=1) - dt.timedelta(days=1), "month")


def refresh_rollups(session: Session, since: dt.date | None = None, *, commit: bool = True) -> RollupResult:
    dialect = session.get_bind().dialect.name
    ev = EngagementEvent
    month_start = ch.floor_date(since, "month") if since else None

    daily_delete = sa.delete(EngagementDaily)
    monthly_delete = sa.delete(CustomerActivityMonthly)
    day = ch.bucket_expr(ev.occurred_at, "day", dialect)
    daily_source = sa.select(day, ev.event_type, sa.func.count(), sa.func.count(sa.distinct(ev.customer_id))).group_by(
        day, ev.event_type
    )
    month = ch.bucket_expr(ev.occurred_at, "month", dialect)
    cohort = ch.bucket_expr(PlatformUser.created_at, "month", dialect)
    monthly_source = (
        sa.select(ev.customer_id, month, cohort, sa.func.count())
        .join(PlatformUser, PlatformUser.id == ev.customer_id)
        .where(ev.customer_id.in_(customer_ids()))  # customers only, so readers need no role check
        .group_by(ev.customer_id, month, cohort)
    )
    if since is not None:
        daily_delete = daily_delete.where(EngagementDaily.day >= since)
        daily_source = daily_source.where(ev.occurred_at >= ch.DateRange(since, since).start_dt())
        monthly_delete = monthly_delete.where(CustomerActivityMonthly.month >= month_start)
        monthly_source = monthly_source.where(ev.occurred_at >= ch.DateRange(month_start, month_start).start_dt())

    session.execute(daily_delete)
    session.execute(
        sa.insert(EngagementDaily.__table__).from_select(["day", "event_type", "events", "customers"], daily_source)
    )
    session.execute(monthly_delete)
    session.execute(
        sa.insert(CustomerActivityMonthly.__table__).from_select(
            ["customer_id", "month", "cohort_month", "events"], monthly_source
        )
    )
    # Counted afterwards: psycopg reports no rowcount for INSERT ... SELECT through the ORM session.
    daily_rows = session.scalar(
        sa.select(sa.func.count()).select_from(EngagementDaily).where(EngagementDaily.day >= (since or dt.date.min))
    )
    monthly_rows = session.scalar(
        sa.select(sa.func.count())
        .select_from(CustomerActivityMonthly)
        .where(CustomerActivityMonthly.month >= (month_start or dt.date.min))
    )
    if commit:
        session.commit()
    return RollupResult(since, daily_rows or 0, monthly_rows or 0)
