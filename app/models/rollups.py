"""Rollups kept ahead of time so dashboards never scan raw engagement events.

Both tables are derived data: ``app.services.rollups.refresh_rollups`` rebuilds any
recent window from ``engagement_events`` idempotently (delete + insert in one
transaction), so a rerun after a crash converges on the same rows.
"""

from __future__ import annotations

import datetime as dt
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
    cohort_month: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    events: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __table_args__ = (
        sa.Index(None, "cohort_month", "month"),
        sa.Index(None, "month"),
    )
