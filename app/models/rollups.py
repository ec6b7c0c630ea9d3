"""Rollups kept ahead of time so dashboards never scan raw engagement events.

All tables are derived data: ``app.services.analytics.rollups.refresh_rollups`` rebuilds them
from the raw tables idempotently (delete + insert in one transaction), so a rerun
after a crash converges on the same rows. Dashboards read them only when no customer
filter or row scope applies; filtered views aggregate the (then much smaller) raw rows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model


class EngagementDaily(Model):
    """Customer-agnostic counts per day and event type (the events-by-type chart)."""

    __tablename__ = "engagement_daily"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    event_type: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    events: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    customers: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class CustomerActivityMonthly(Model):
    """One row per customer and month with any engagement: retention and events per active customer.

    ``cohort_month`` (the month the customer signed up) is copied in so the retention
    matrix is one GROUP BY over this table, without a join to ``users``.
    """

    __tablename__ = "customer_activity_monthly"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    cohort_month: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, info={"personal": False})
    events: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __table_args__ = (
        sa.Index(None, "cohort_month", "month"),
        sa.Index(None, "month"),
    )


class PlanAdherenceWeekly(Model):
    """Plan items per calendar week, week of plan, program and primary coach (adherence dashboard).

    Only items already due when the rollup was refreshed are counted.
    """

    __tablename__ = "plan_adherence_weekly"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True, info={"personal": False})
    week_of_plan: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    coach_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    items_due: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    completed: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    substitutions: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    feedback: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class MessageMonthly(Model):
    """Messages per month, and how many of them customers sent."""

    __tablename__ = "message_monthly"

    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    messages: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    from_customers: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class InvoiceMonthly(Model):
    """Invoices per due month and status: count and amount (collection rate)."""

    __tablename__ = "invoice_monthly"

    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    invoices: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    amount: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(14, 2), nullable=False)


class MetricMonthly(Model):
    """Generic monthly counts and amounts per metric and dimension (revenue and engagement reports).

    ``metric`` names what is counted (``subscription_start``, ``payment_failed`` ...), ``dim``
    the breakdown value (status|currency, failure reason ...), '' when there is none.
    """

    __tablename__ = "metric_monthly"

    metric: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    dim: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    amount: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(16, 2), nullable=False)
