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

from app import models as m
from app.models.analytics import EngagementEvent
from app.models.identity import PlatformUser
from app.models.rollups import (
    CustomerActivityMonthly,
    EngagementDaily,
    InvoiceMonthly,
    MessageMonthly,
    MetricMonthly,
    PlanAdherenceWeekly,
)
from app.models.training import CompletionState
from app.services.analytics import charting as ch
from app.services.analytics.reports import customer_ids, days_between


@dataclass
class RollupResult:
    since: dt.date | None
    daily_rows: int
    monthly_rows: int


def default_since(today: dt.date | None = None) -> dt.date:
    """Start of the previous month: late events for last month are still picked up."""
    today = today or dt.datetime.now(dt.UTC).date()
    return ch.floor_date(today.replace(day=1) - dt.timedelta(days=1), "month")


def refresh_rollups(
    session: Session, since: dt.date | None = None, *, today: dt.date | None = None, commit: bool = True
) -> RollupResult:
    """Engagement rollups from ``since`` (None: everything), then the small fact rollups in full."""
    dialect = session.get_bind().dialect.name
    refresh_fact_rollups(session, today or dt.datetime.now(dt.UTC).date())
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


def refresh_fact_rollups(session: Session, today: dt.date) -> None:
    """Rebuild the adherence, message and invoice rollups (each a GROUP BY over one raw table)."""
    dialect = session.get_bind().dialect.name
    pi, cp, ca = m.PlanItem, m.CustomerPlan, m.CoachAssignment

    def count_if(condition: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    week = ch.bucket_expr(pi.scheduled_date, "week", dialect)
    week_of_plan = days_between(pi.scheduled_date, cp.start_date, dialect) // 7 + 1
    adherence = (
        sa.select(
            week,
            week_of_plan,
            cp.program_id,
            ca.coach_id,
            sa.func.count(),
            count_if(pi.completion_state == CompletionState.COMPLETED),
            count_if(pi.substitution_item_id.is_not(None)),
            count_if(sa.func.length(sa.func.coalesce(pi.feedback_text, "")) > 0),
        )
        .join(cp, cp.id == pi.plan_id)
        .outerjoin(ca, sa.and_(ca.customer_id == cp.customer_id, ca.is_primary.is_(True)))
        .where(pi.scheduled_date <= today)
        .group_by(week, week_of_plan, cp.program_id, ca.coach_id)
    )
    msg = m.Message
    month = ch.bucket_expr(msg.sent_at, "month", dialect)
    messages = sa.select(month, sa.func.count(), count_if(msg.sender_id.in_(customer_ids()))).group_by(month)
    inv = m.Invoice
    due_month = ch.bucket_expr(inv.due_date, "month", dialect)
    invoices = sa.select(due_month, inv.status, sa.func.count(), sa.func.sum(inv.amount)).group_by(
        due_month, inv.status
    )

    emptied: set[type] = set()
    for table, columns, source in (
        *((MetricMonthly, ["metric", "month", "dim", "count", "amount"], q) for q in metric_sources(dialect)),
        (PlanAdherenceWeekly, ["week", "week_of_plan", "program_id", "coach_id", "items_due", "completed",
                               "substitutions", "feedback"], adherence),
        (MessageMonthly, ["month", "messages", "from_customers"], messages),
        (InvoiceMonthly, ["month", "status", "invoices", "amount"], invoices),
    ):  # fmt: skip
        if table not in emptied:  # metric_monthly is filled by several selects
            session.execute(sa.delete(table))
            emptied.add(table)
        session.execute(sa.insert(table.__table__).from_select(columns, source))


def metric_sources(dialect: str) -> list[sa.Select]:
    """(metric, month, dim, count, amount) selects for ``metric_monthly``."""
    s, p, pay = m.Subscription, m.Product, m.Payment

    def month(col: sa.ColumnElement) -> sa.ColumnElement:
        return ch.bucket_expr(col, "month", dialect)

    def text(col: sa.ColumnElement) -> sa.ColumnElement:
        return sa.cast(col, sa.String(50))

    status_currency = text(s.status).concat("|").concat(p.currency)
    zero = sa.literal(0, sa.Numeric(16, 2))
    reason = sa.func.substr(sa.func.coalesce(pay.failure_reason, ch.NONE_LABEL), 1, 200)
    out = []
    for metric, column in (("subscription_start", s.start_date), ("subscription_end", s.end_date)):
        out.append(
            sa.select(sa.literal(metric), month(column), status_currency, sa.func.count(), sa.func.sum(p.price))
            .join(p, p.id == s.product_id)
            .where(column.is_not(None))
            .group_by(month(column), status_currency)
        )
    out.append(
        sa.select(sa.literal("subscription_pause_end"), month(s.pause_until), text(s.status), sa.func.count(), zero)
        .where(s.pause_until.is_not(None))
        .group_by(month(s.pause_until), text(s.status))
    )
    out.append(
        sa.select(sa.literal("payment_failed"), month(pay.created_at), reason, sa.func.count(), sa.func.sum(pay.amount))
        .where(pay.status == m.commerce.PaymentStatus.FAILED)
        .group_by(month(pay.created_at), reason)
    )
    for metric, column in (
        ("badge_awarded", m.CustomerBadge.awarded_at),
        ("community_post", m.CommunityPost.created_at),
        ("community_reaction", m.CommunityReaction.created_at),
    ):
        out.append(
            sa.select(sa.literal(metric), month(column), sa.literal(""), sa.func.count(), zero).group_by(month(column))
        )
    return out
