"""Cohort snapshots: headline metrics captured on a schedule, idempotently.

``capture_snapshots`` computes the headline metrics with the same report queries the
dashboards use and writes them with INSERT ... ON CONFLICT DO NOTHING on
(cohort_key, metric_name, captured_at), where captured_at is the start of the period
(the UTC day). Running it twice in a period changes nothing; a crashed run is simply rerun.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.analytics import CohortSnapshot
from app.services.analytics import charting as ch
from app.services.analytics.reports import ReportContext, ReportFilters, all_reports

ALL = "all"
PERIODS = ("day", "week", "month")


@dataclass
class SnapshotResult:
    captured_at: dt.datetime
    computed: int
    inserted: int


def period_start(now: dt.datetime, period: str = "day") -> dt.datetime:
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    day = ch.floor_date(now.astimezone(dt.UTC).date(), period)
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _last(rows: list[tuple], index: int) -> Any:
    values = [r[index] for r in rows if r[index] is not None]
    return values[-1] if values else None


def headline_metrics(session: Session, today: dt.date) -> list[tuple[str, str, decimal.Decimal]]:
    """(cohort_key, metric_name, value) for today's headline figures, unscoped and unfiltered."""
    start = ch.floor_date(today, "month").replace(year=today.year - 1)
    ctx = ReportContext(session, ReportFilters(start, today), today=today)
    reports = all_reports()
    out: list[tuple[str, str, Any]] = []

    mrr = reports["revenue_mrr"].query(ctx).rows
    for currency in sorted({r[1] for r in mrr}):
        out.append((ALL, f"mrr_{currency}", _last([r for r in mrr if r[1] == currency], 2)))
    engagement = reports["engagement_per_active"].query(ctx).rows
    out.append((ALL, "active_customers", _last(engagement, 2)))
    out.append((ALL, "events_per_active_customer", _last(engagement, 3)))
    collection = reports["revenue_collection"].query(ctx).rows
    out.append((ALL, "invoice_collection_rate", _last(collection, 5)))

    recent = ReportContext(session, ReportFilters(today - dt.timedelta(days=27), today), today=today)
    adherence = reports["adherence_by_week"].query(recent).rows
    due = sum(r[1] for r in adherence)
    out.append((ALL, "plan_completion_rate_28d", round(sum(r[2] for r in adherence) / due, 4) if due else None))
    attendance = reports["attendance_by_type"].query(recent).rows
    capacity = sum(r[2] for r in attendance)
    out.append((ALL, "session_fill_rate_28d", round(sum(r[3] for r in attendance) / capacity, 4) if capacity else None))

    for cohort, size, offset, _active, share in reports["retention_heatmap"].query(ctx).rows:
        if offset == (today.year - cohort.year) * 12 + today.month - cohort.month:  # this month's cell
            key = f"signup:{cohort:%Y-%m}"
            out.append((key, "share_active_this_month", share))
            out.append((key, "cohort_size", size))
    return [(k, n, decimal.Decimal(str(v))) for k, n, v in out if v is not None]


def capture_snapshots(session: Session, now: dt.datetime | None = None, period: str = "day") -> SnapshotResult:
    now = now or dt.datetime.now(dt.UTC)
    captured_at = period_start(now, period)
    metrics = headline_metrics(session, now.astimezone(dt.UTC).date())
    if not metrics:
        return SnapshotResult(captured_at, 0, 0)
    rows = [{"cohort_key": k, "metric_name": n, "value": v, "captured_at": captured_at} for k, n, v in metrics]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(CohortSnapshot)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["cohort_key", "metric_name", "captured_at"])
        .returning(CohortSnapshot.id)
    )
    inserted = len(session.execute(stmt).all())
    session.commit()
    return SnapshotResult(captured_at, len(rows), inserted)


def snapshot_series(
    session: Session, start: dt.date, end: dt.date, cohort_key: str = ALL
) -> list[tuple[dt.date, str, float]]:
    s = CohortSnapshot
    stmt = (
        sa.select(s.captured_at, s.metric_name, s.value)
        .where(s.cohort_key == cohort_key, *ch.range_criteria(s.captured_at, ch.DateRange(start, end)))
        .order_by(s.metric_name, s.captured_at)
        .limit(ch.MAX_POINTS)
    )
    return [(ch.as_date(t), name, ch.number(v)) for t, name, v in session.execute(stmt).all()]
