"""Automation and integrations: rules and their executions, API clients, wearable authorizations."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.analytics import BigId
from app.models.base import CreatedAtMixin, Model, fk, json_column, utcnow
from app.models.identity import PlatformUser
from app.models.types import JSONDocument, UTCDateTime, enum_column_type


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


class RuleFrequency(enum.StrEnum):
    """How often one rule may act for one customer."""

    EVERY_TIME = "EVERY_TIME"
    ONCE_PER_CUSTOMER = "ONCE_PER_CUSTOMER"
    ONCE_PER_PERIOD = "ONCE_PER_PERIOD"  # at most once per customer in ``frequency_days`` days


class ClientStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


class AutomationRule(CreatedAtMixin, Model):
    """A trigger, a condition and ordered actions; edited as drafts, versioned when saved.

    The trigger is ``trigger_type`` plus its setting: ``trigger_event`` (a domain-event type from
    ``app.services.events.catalogue``) for EVENT, METRIC_THRESHOLD and PAYMENT_FAILED rules,
    ``schedule_cron`` and ``schedule_timezone`` for SCHEDULE rules, ``inactivity_days`` for
    INACTIVITY rules. Each save bumps ``version`` and stores the definition in
    ``automation_rule_versions``; an execution records the version that ran.
    """

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
    trigger_event: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})
    schedule_cron: Mapped[str | None] = mapped_column(sa.String(100), info={"personal": False})
    schedule_timezone: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})
    inactivity_days: Mapped[int | None] = mapped_column(sa.Integer)
    frequency: Mapped[RuleFrequency] = mapped_column(
        enum_column_type(RuleFrequency, "rule_frequency"),
        nullable=False,
        default=RuleFrequency.EVERY_TIME,
        server_default=RuleFrequency.EVERY_TIME.value,
    )
    frequency_days: Mapped[int | None] = mapped_column(sa.Integer)
    # Messages to a customer wait while it is between these times in the customer's own zone.
    quiet_start: Mapped[dt.time | None] = mapped_column(sa.Time())
    quiet_end: Mapped[dt.time | None] = mapped_column(sa.Time())
    # Only this coach's customers (None: every customer). Coaches read the rules that can touch theirs.
    coach_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    # Failed executions in a row; at the limit the engine pauses the rule and says why.
    failure_streak: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    paused_reason: Mapped[str | None] = mapped_column(sa.Text, info={"personal": False})
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # SCHEDULE: the last cron instant matched; INACTIVITY: the last evaluation.
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    author: Mapped[PlatformUser | None] = relationship(foreign_keys=[created_by], lazy="joined")
    coach: Mapped[PlatformUser | None] = relationship(foreign_keys=[coach_id], lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("inactivity_days IS NULL OR (inactivity_days >= 1 AND inactivity_days <= 365)",
                           name="inactivity_days_range"),
        sa.CheckConstraint("frequency_days IS NULL OR (frequency_days >= 1 AND frequency_days <= 3650)",
                           name="frequency_days_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("failure_streak >= 0", name="failure_streak_non_negative"),
    )  # fmt: skip

    def __str__(self) -> str:
        return self.name


class AutomationRuleVersion(Model):
    """A saved definition of a rule, as it ran: executions point here by (rule_id, version)."""

    __tablename__ = "automation_rule_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_automation_rule_versions_rule_id_version.
    rule_id: Mapped[int] = fk("automation_rules.id", "CASCADE", index=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument(), nullable=False, info={"personal": False})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)

    rule: Mapped[AutomationRule] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("rule_id", "version"),)


class AutomationExecution(Model):
    """One rule acting for one subject on one occurrence (an event, a cron instant, an inactivity spell).

    ``idempotency_key`` names the occurrence, so matching it twice inserts nothing; ``steps_done``
    commits with each action's own writes, so a worker killed mid-run resumes after the last
    finished action and never repeats one.
    """

    __tablename__ = "automation_executions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = fk("automation_rules.id", "CASCADE")
    triggered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    status: Mapped[ExecutionStatus] = mapped_column(
        enum_column_type(ExecutionStatus, "execution_status"), nullable=False, index=True
    )
    result_details: Mapped[str | None] = mapped_column(sa.Text, info={"personal": False})
    retry_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rule_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    customer_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    event_id: Mapped[int | None] = fk("domain_events.id", "SET NULL", type_=BigId, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True, info={"personal": False})
    steps_done: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    rule: Mapped[AutomationRule] = relationship(lazy="joined")
    customer: Mapped[PlatformUser | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("retry_count >= 0", name="retry_non_negative"),
        sa.CheckConstraint("steps_done >= 0", name="steps_done_non_negative"),
        # The engine's queue: due pending executions, oldest first.
        sa.Index("ix_automation_executions_due", "status", "next_attempt_at"),
        # "Once per customer (per N days)": one index walk per rule and customer.
        sa.Index("ix_automation_executions_rule_customer", "rule_id", "customer_id", "triggered_at"),
    )


class SegmentMembership(Model):
    """A customer in a named announcement segment (added by hand or by a rule's action)."""

    __tablename__ = "segment_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    segment: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"personal": False})
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    rule_id: Mapped[int | None] = fk("automation_rules.id", "SET NULL", nullable=True)

    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("segment", "customer_id"),)

    def __str__(self) -> str:
        return self.segment


class APIClient(CreatedAtMixin, Model):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True, info={"personal": False})
    api_key_hash: Mapped[str] = mapped_column(sa.String(256), nullable=False, info={"secret": True})
    rate_limit: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=60)
    status: Mapped[ClientStatus] = mapped_column(
        enum_column_type(ClientStatus, "client_status"), nullable=False, default=ClientStatus.ACTIVE
    )
    # The key's public lookup part (``cdk_<prefix>_<secret>``); the hash above is of the whole key.
    key_prefix: Mapped[str | None] = mapped_column(sa.String(16), unique=True, info={"personal": False})
    # OAuth-style space-separated scopes (``customers:read plans:write``): what the client may call.
    scopes: Mapped[str] = mapped_column(
        sa.String(500), nullable=False, default="", server_default="", info={"personal": False}
    )
    # At most one subject: a client acting for one coach's customers, or for one customer (a customer app).
    coach_id: Mapped[uuid.UUID | None] = fk("users.id", "CASCADE", type_=sa.Uuid(), nullable=True)
    customer_id: Mapped[uuid.UUID | None] = fk("users.id", "CASCADE", type_=sa.Uuid(), nullable=True)
    # Rotation keeps the previous key valid until ``previous_key_expires_at`` (the overlap window).
    previous_key_prefix: Mapped[str | None] = mapped_column(sa.String(16), unique=True, info={"personal": False})
    previous_key_hash: Mapped[str | None] = mapped_column(sa.String(256), info={"secret": True})
    previous_key_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})

    coach: Mapped[PlatformUser | None] = relationship(foreign_keys=[coach_id], lazy="joined")
    customer: Mapped[PlatformUser | None] = relationship(foreign_keys=[customer_id], lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("rate_limit > 0", name="rate_limit_positive"),
        sa.CheckConstraint("coach_id IS NULL OR customer_id IS NULL", name="one_subject"),
    )

    def __str__(self) -> str:
        return self.name


class APIAccessLog(Model):
    __tablename__ = "api_access_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Indexed as the leading column of ix_api_access_logs_client_id_occurred_at (per-client traffic).
    client_id: Mapped[int] = fk("api_clients.id", "CASCADE", index=False)
    endpoint: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    status_code: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    latency_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    method: Mapped[str | None] = mapped_column(sa.String(7), info={"personal": False})
    request_id: Mapped[str | None] = mapped_column(sa.String(36), info={"personal": False})

    client: Mapped[APIClient] = relationship(lazy="joined")

    __table_args__ = (
        sa.Index(None, "client_id", "occurred_at"),
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
