"""Signup cohorts and their retention, computed in SQL.

A customer's cohort is the month of ``users.created_at``; a customer is *active* in a
month when they have at least one engagement event in it. The matrix comes from the
``customer_activity_monthly`` rollup (one GROUP BY, no join); ``use_rollups=False``
computes the same numbers from raw events (tests and the benchmark's baseline).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.models.analytics import EngagementEvent
from app.models.identity import PlatformUser
from app.models.rollups import CustomerActivityMonthly
from app.services.analytics import charting as ch
from app.services.analytics.reports import ReportContext, customer_ids, month_index

MAX_OFFSETS = 60


@dataclass
class RetentionMatrix:
    cohorts: list[dt.date] = field(default_factory=list)
    sizes: dict[dt.date, int] = field(default_factory=dict)
    active: dict[tuple[dt.date, int], int] = field(default_factory=dict)  # (cohort, months after signup) -> customers
    last_month: dt.date | None = None

    def share(self, cohort: dt.date, offset: int) -> float | None:
        """Share of the cohort active ``offset`` months after signup; None for months not yet reached."""
        if self.last_month is None or month_index(self.last_month, cohort) < offset:
            return None
        size = self.sizes.get(cohort, 0)
        return round(self.active.get((cohort, offset), 0) / size, 4) if size else None

    @property
    def max_offset(self) -> int:
        if not self.cohorts or self.last_month is None:
            return -1
        return min(MAX_OFFSETS, month_index(self.last_month, self.cohorts[0]))


def cohort_sizes(ctx: ReportContext, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    u = PlatformUser
    cohort = ctx.bucket(u.created_at, "month").label("cohort")
    stmt = (
        sa.select(cohort, sa.func.count())
        .where(u.id.in_(customer_ids()), *ch.range_criteria(u.created_at, ch.DateRange(first, last)))
        .where(*ctx.customers(u.id))
        .group_by(cohort)
    )
    return {ch.as_date(c): n for c, n in ctx.session.execute(stmt).all()}


def retention_matrix(ctx: ReportContext, only_cohort: dt.date | None = None) -> RetentionMatrix:
    """Cohorts signed up within the filter range, followed up to the range's end (memoised per render)."""
    key = ("retention_matrix", only_cohort, ctx.use_rollups)
    if key not in ctx.cache:
        full = ctx.cache.get(("retention_matrix", None, ctx.use_rollups))
        if only_cohort is not None and full is not None and only_cohort in full.sizes:
            ctx.cache[key] = full  # the heatmap already computed this cohort
        else:
            ctx.cache[key] = _retention_matrix(ctx, only_cohort)
    return ctx.cache[key]


def _retention_matrix(ctx: ReportContext, only_cohort: dt.date | None) -> RetentionMatrix:
    first = ch.floor_date(ctx.range.start, "month")
    last = ctx.range.end
    if only_cohort is not None:
        first = only_cohort
        cohort_last = ch.step(only_cohort, "month") - dt.timedelta(days=1)
    else:
        cohort_last = last
    sizes = cohort_sizes(ctx, first, cohort_last)
    matrix = RetentionMatrix(cohorts=sorted(sizes), sizes=sizes, last_month=ch.floor_date(last, "month"))
    if not sizes:
        return matrix
    if ctx.use_rollups:
        a = CustomerActivityMonthly
        stmt = (
            sa.select(a.cohort_month, a.month, sa.func.count())
            .where(a.cohort_month >= first, a.cohort_month <= cohort_last, a.month <= last)
            .where(*ctx.customers(a.customer_id))  # the rollup holds customers only
            .group_by(a.cohort_month, a.month)
        )
    else:
        ev, u = EngagementEvent, PlatformUser
        cohort = ctx.bucket(u.created_at, "month")
        month = ctx.bucket(ev.occurred_at, "month")
        per_customer = (
            sa.select(cohort.label("cohort"), month.label("month"), ev.customer_id)
            .join(u, u.id == ev.customer_id)
            .where(*ch.range_criteria(u.created_at, ch.DateRange(first, cohort_last)))
            .where(ev.occurred_at < ch.DateRange(last, last).end_dt_exclusive())
            .where(ev.customer_id.in_(customer_ids()), *ctx.customers(ev.customer_id))
            .distinct()
            .subquery()
        )
        stmt = sa.select(per_customer.c.cohort, per_customer.c.month, sa.func.count()).group_by(
            per_customer.c.cohort, per_customer.c.month
        )
    for cohort_month, month, n in ctx.session.execute(stmt).all():
        c, mth = ch.as_date(cohort_month), ch.as_date(month)
        offset = month_index(mth, c)
        if 0 <= offset <= MAX_OFFSETS:
            matrix.active[(c, offset)] = n
    return matrix
