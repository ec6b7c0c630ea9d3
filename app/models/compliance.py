"""Audit and compliance: the append-only audit trail and data-retention policies."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.analytics import BigId
from app.models.base import Model, fk, json_column, utcnow
from app.models.identity import PlatformUser
from app.models.types import UTCDateTime, enum_column_type


class DeletionStrategy(enum.StrEnum):
    HARD_DELETE = "HARD_DELETE"
    ANONYMIZE = "ANONYMIZE"
    ARCHIVE = "ARCHIVE"


class AuditLog(Model):
    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # RESTRICT: users are anonymised, never deleted, while audit rows point at them.
    actor_id: Mapped[uuid.UUID | None] = fk("users.id", "RESTRICT", type_=sa.Uuid(), nullable=True)
    action: Mapped[str] = mapped_column(sa.String(50), nullable=False, index=True, info={"personal": False})
    resource_type: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"personal": False})
    resource_id: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})
    metadata_json = json_column(js.AUDIT_METADATA, personal=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    # Additions: request context and the hash chain that makes tampering detectable.
    ip_address: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": True})
    user_agent: Mapped[str | None] = mapped_column(sa.String(300), info={"personal": True})
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})
    row_hash: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})

    actor: Mapped[PlatformUser | None] = relationship(lazy="joined")

    __table_args__ = (sa.Index(None, "resource_type", "resource_id"),)


class DataRetentionPolicy(Model):
    __tablename__ = "data_retention_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    retention_period_days: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    deletion_strategy: Mapped[DeletionStrategy] = mapped_column(
        enum_column_type(DeletionStrategy, "deletion_strategy"), nullable=False
    )
    # Additions: a policy starts disabled so it can be dry-run first.
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (sa.CheckConstraint("retention_period_days > 0", name="period_positive"),)

    def __str__(self) -> str:
        return self.entity


class AuditCheckpoint(Model):
    """A signed statement of the audit chain's head (and start) at a time; also kept in files outside the database."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    head_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True, info={"personal": False})
    head_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, info={"personal": False})
    rows: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, info={"personal": False})
    first_id: Mapped[int | None] = mapped_column(sa.BigInteger, info={"personal": False})
    first_prev: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})
    key_id: Mapped[str] = mapped_column(sa.String(16), nullable=False, info={"personal": False})
    # The signed body as written (canonical JSON) and its Ed25519 signature (base64).
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, info={"personal": False})
    signature: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"personal": False})
