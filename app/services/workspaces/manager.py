"""The manager's workspace: KPI tiles with a six-month (or eight-week) trend, each opening its dashboard.

The figures come from the dashboards' own report queries (``reports/``) and rollup tables, so a
tile and the dashboard it links to agree: active customers (engagement_per_active), MRR
(revenue_mrr), churned subscriptions (revenue_movements), adherence (plan_adherence_weekly) and
fill rate (the attendance reports' rule for a booked seat, by month).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.rollups import PlanAdherenceWeekly as W
from app.models.scheduling import (
    AttendanceStatus,
    ParticipantRole,
    ScheduledSession,
    SessionParticipant,
    SessionStatus,
)
from app.services.analytics import charting as ch
from app.services.analytics import reports as rp
from app.services.workspaces.sparkline import points

MONTHS = 6
WEEKS = 8
NOT_BOOKED = (AttendanceStatus.CANCELLED, AttendanceStatus.LATE_CANCEL)


@dataclass
class Tile:
    key: str
    dashboard: str
    value: float | int | None
    series: list[float | int | None]
    kind: str = "count"  # count | money | rate
    currency: str | None = None

    @property
    def points(self) -> str:
        return points(self.series)


def _context(session: Session, today: dt.date) -> rp.ReportContext:
    first = ch.floor_date(today, "month")
    for _ in range(MONTHS - 1):
        first = ch.floor_date(first - dt.timedelta(days=1), "month")
    return rp.ReportContext(session, rp.ReportFilters(first, today), today=today)


def _column(ctx: rp.ReportContext, dashboard: str, key: str, column: str) -> list[Any]:
    data = rp.get_report(dashboard, key).query(ctx)
    if not data.rows:
        return [0] * MONTHS
    i = data.columns.index(column)
    return [row[i] for row in data.rows]


def active_customers(ctx: rp.ReportContext) -> Tile:
    series = _column(ctx, "engagement", "engagement_per_active", "active_customers")
    return Tile("active", "engagement", series[-1], series)


def mrr(ctx: rp.ReportContext) -> Tile:
    rows = rp.get_report("revenue", "revenue_mrr").query(ctx).rows
    if not rows:
        return Tile("mrr", "revenue", None, [0] * MONTHS, kind="money")
    latest = max(r[0] for r in rows)
    # The currency with the largest MRR this month leads the tile.
    currency = max((r for r in rows if r[0] == latest), key=lambda r: r[2])[1]
    series = [r[2] for r in sorted(rows, key=lambda r: r[0]) if r[1] == currency]
    return Tile("mrr", "revenue", series[-1], series, kind="money", currency=currency)


def churn(ctx: rp.ReportContext) -> Tile:
    series = _column(ctx, "revenue", "revenue_movements", "churned")
    return Tile("churn", "revenue", series[-1], series)


def adherence(session: Session, today: dt.date) -> Tile:
    """Completed / due plan items per week, from the weekly rollup (its last eight weeks)."""
    monday = ch.floor_date(today, "week")
    first = monday - dt.timedelta(weeks=WEEKS - 1)
    stmt = (
        sa.select(W.week, sa.func.sum(W.items_due), sa.func.sum(W.completed))
        .where(W.week >= first, W.week <= monday)
        .group_by(W.week)
    )
    found = {ch.as_date(w): rp.rate(c, n) for w, n, c in session.execute(stmt)}
    series = [found.get(first + dt.timedelta(weeks=i)) for i in range(WEEKS)]
    value = next((v for v in reversed(series) if v is not None), None)
    return Tile("adherence", "adherence", value, series, kind="rate")


def fill_rate(ctx: rp.ReportContext) -> Tile:
    """Booked seats / capacity of the sessions (not cancelled) of each month.

    "Booked" is the attendance reports' rule (``reports/_attendance.py``: primary seats not
    cancelled). Their per-session subquery groups the whole roster table before the date range
    applies; here both sides are bounded by the range on ``start_time`` (indexed), for a home page.
    """
    ss, sp = ScheduledSession, SessionParticipant
    month = ctx.bucket(ss.start_time, "month")
    in_range = (*ctx.in_range(ss.start_time), ss.status != SessionStatus.CANCELLED)
    capacity = sa.select(month, sa.func.sum(ss.capacity)).where(*in_range).group_by(month)
    booked = (
        sa.select(month, sa.func.count(sp.id))
        .join(ss, ss.id == sp.session_id)
        .where(*in_range, sp.role == ParticipantRole.PRIMARY, sp.attendance_status.not_in(NOT_BOOKED))
        .group_by(month)
    )
    seats = {ch.as_date(mo): n for mo, n in ctx.session.execute(booked)}
    found = {ch.as_date(mo): rp.rate(seats.get(ch.as_date(mo), 0), cap) for mo, cap in ctx.session.execute(capacity)}
    series = [found.get(mo) for mo in ch.bucket_starts(ctx.range, "month")]
    return Tile("fill", "attendance", series[-1] if series else None, series, kind="rate")


def build(session: Session, today: dt.date) -> list[Tile]:
    ctx = _context(session, today)
    return [active_customers(ctx), mrr(ctx), churn(ctx), adherence(session, today), fill_rate(ctx)]
