"""Analytics and telemetry: progress metrics, engagement events, cohort snapshots, recommendations."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.base import Model, fk, json_column, utcnow
from app.models.identity import PlatformUser
from app.models.types import UTCDateTime, enum_column_type

# Big tables get 64-bit keys (plain INTEGER on SQLite, where only INTEGER autoincrements).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class MetricSource(enum.StrEnum):
    MANUAL = "MANUAL"
    WEARABLE = "WEARABLE"


class ProgressMetric(Model):
    __tablename__ = "progress_metrics"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Indexed as the leading column of ix_progress_metrics_customer_id_recorded_at.
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    metric_type: Mapped[str] = mapped_column(sa.String(50), nullable=False, index=True, info={"personal": False})
    value: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(14, 3), nullable=False, info={"personal": True})
    unit: Mapped[str] = mapped_column(sa.String(20), nullable=False, info={"personal": False})
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    source: Mapped[MetricSource] = mapped_column(enum_column_type(MetricSource, "metric_source"), nullable=False)
    # The sender's own id for the reading (REST ingest): a retried batch inserts nothing twice.
    client_key: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})

    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.Index(None, "customer_id", "recorded_at"), sa.UniqueConstraint("customer_id", "client_key"))


class EngagementEvent(Model):
    __tablename__ = "engagement_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Indexed as the leading column of ix_engagement_events_customer_id_occurred_at.
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    event_type: Mapped[str] = mapped_column(sa.String(50), nullable=False, info={"personal": False})
    payload_json = json_column(js.EVENT_PAYLOAD, personal=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.Index(None, "customer_id", "occurred_at"),
        # The list's order (occurred_at, id) and its event_type filter, carrying customer_id for the
        # coach scope: list pages and capped counts are index-only scans, not heap visits (bench/list_pages.py).
        sa.Index(None, "event_type", "occurred_at", postgresql_include=["customer_id"]),
        sa.Index(None, "occurred_at", "id", postgresql_include=["customer_id"]),
    )


class CohortSnapshot(Model):
    __tablename__ = "cohort_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_key: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    metric_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    value: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(18, 4), nullable=False)
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    __table_args__ = (sa.UniqueConstraint("cohort_key", "metric_name", "captured_at"),)


class RecommendationLog(Model):
    __tablename__ = "recommendation_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    recommendation_type: Mapped[str] = mapped_column(
        sa.String(50), nullable=False, index=True, info={"personal": False}
    )
    payload_json = json_column(js.RECOMMENDATION_PAYLOAD, personal=True)
    shown_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("accepted_at IS NULL OR accepted_at >= shown_at", name="accepted_after_shown"),
    )
