"""Automation and integrations: rules and their executions, API clients, wearable authorizations."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.analytics import BigId
from app.models.base import CreatedAtMixin, Model, fk, json_column, utcnow
from app.models.identity import PlatformUser
from app.models.types import UTCDateTime, enum_column_type


class TriggerType(enum.StrEnum):
    EVENT = "EVENT"
    SCHEDULE = "SCHEDULE"
    METRIC_THRESHOLD = "METRIC_THRESHOLD"
    INACTIVITY = "INACTIVITY"
    PAYMENT_FAILED = "PAYMENT_FAILED"


class RuleStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


class ExecutionStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class ClientStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


class AutomationRule(CreatedAtMixin, Model):
    __tablename__ = "automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, info={"personal": False})
    trigger_type: Mapped[TriggerType] = mapped_column(enum_column_type(TriggerType, "trigger_type"), nullable=False)
    condition_json = json_column(js.RULE_CONDITION, personal=False)
    action_json = json_column(js.RULE_ACTION, nullable=False, personal=False)
    status: Mapped[RuleStatus] = mapped_column(
        enum_column_type(RuleStatus, "rule_status"), nullable=False, default=RuleStatus.DRAFT, index=True
    )
    created_by: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)

    author: Mapped[PlatformUser | None] = relationship(lazy="joined")

    def __str__(self) -> str:
        return self.name


class AutomationExecution(Model):
    __tablename__ = "automation_executions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = fk("automation_rules.id", "CASCADE")
    triggered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    status: Mapped[ExecutionStatus] = mapped_column(
        enum_column_type(ExecutionStatus, "execution_status"), nullable=False, index=True
    )
    result_details: Mapped[str | None] = mapped_column(sa.Text)
    retry_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    rule: Mapped[AutomationRule] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("retry_count >= 0", name="retry_non_negative"),)


class APIClient(CreatedAtMixin, Model):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    api_key_hash: Mapped[str] = mapped_column(sa.String(256), nullable=False, info={"secret": True})
    rate_limit: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=60)
    status: Mapped[ClientStatus] = mapped_column(
        enum_column_type(ClientStatus, "client_status"), nullable=False, default=ClientStatus.ACTIVE
    )

    __table_args__ = (sa.CheckConstraint("rate_limit > 0", name="rate_limit_positive"),)

    def __str__(self) -> str:
        return self.name


class APIAccessLog(Model):
    __tablename__ = "api_access_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = fk("api_clients.id", "CASCADE")
    endpoint: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    status_code: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    latency_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    client: Mapped[APIClient] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("status_code >= 100 AND status_code <= 599", name="status_code_range"),
        sa.CheckConstraint("latency_ms >= 0", name="latency_non_negative"),
    )


class WearableAuthorization(Model):
    __tablename__ = "wearable_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_wearable_authorizations_customer_id_provider.
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False, info={"personal": False})
    access_token_hash: Mapped[str | None] = mapped_column(sa.String(256), info={"secret": True})
    refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(256), info={"secret": True})
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("customer_id", "provider"),)
