"""Core identity and access: platform users, seed roles, auth sessions, consents, console accounts."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import ApiKey as FabApiKey
from flask_appbuilder.security.sqla.models import User as FabUser
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.base import Model, TimestampMixin, fk, json_column, new_uuid, trigram_index, utcnow
from app.models.classification import classify
from app.models.labels import enum_label
from app.models.types import UTCDateTime, enum_column_type


class RoleCode(enum.StrEnum):
    ADMIN = "ADMIN"
    COACH = "COACH"
    CUSTOMER = "CUSTOMER"
    SUPPORT = "SUPPORT"


class UserStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    INVITED = "INVITED"
    SUSPENDED = "SUSPENDED"
    DELETED = "DELETED"


class PlatformUser(TimestampMixin, Model):
    """A person on the platform: customer, coach or staff. Console accounts link here."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=new_uuid)
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False, unique=True, info={"personal": True})
    password_hash: Mapped[str | None] = mapped_column(sa.String(256), info={"secret": True})
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, info={"personal": True})
    phone: Mapped[str | None] = mapped_column(sa.String(40), info={"personal": True})
    locale: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="en", info={"personal": False})
    status: Mapped[UserStatus] = mapped_column(
        enum_column_type(UserStatus, "user_status"), nullable=False, default=UserStatus.ACTIVE, index=True
    )
    # Compliance: a user under legal hold is skipped by retention and erasure.
    legal_hold: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.false())

    roles: Mapped[list[PlatformRole]] = relationship(secondary="user_roles", lazy="selectin", viewonly=True)

    __table_args__ = (
        sa.CheckConstraint("email LIKE '%_@_%'", name="email_format"),
        trigram_index("users", "full_name"),
        trigram_index("users", "email"),
        trigram_index("users", "phone"),
    )

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def role_codes(self) -> set[str]:
        return {r.code.value for r in self.roles}


class PlatformRole(Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[RoleCode] = mapped_column(enum_column_type(RoleCode, "role_code"), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(500))

    def __str__(self) -> str:
        return enum_label(self.code)


class UserRole(Model):
    __tablename__ = "user_roles"

    # A surrogate key so the generated console views can address a row by one id.
    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_user_roles_user_id_role_id.
    user_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    role_id: Mapped[int] = fk("roles.id", "CASCADE")

    user: Mapped[PlatformUser] = relationship(lazy="joined")
    role: Mapped[PlatformRole] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("user_id", "role_id"),)


class AuthSession(Model):
    """The seed's identity ``Sessions`` table (renamed: scheduling has a Sessions table too)."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    device_fingerprint: Mapped[str | None] = mapped_column(sa.String(128), info={"personal": True})
    mfa_verified: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # The console account signed in (the seed's user_id is its platform user); the session cookie
    # names this row, so ending it (revoked_at) signs that browser out on its next request.
    console_user_id: Mapped[int | None] = fk("ab_user.id", "CASCADE", nullable=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    # When the person last passed a TOTP or recovery-code check in this session (step-up).
    mfa_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(30), info={"personal": False})
    ip_address: Mapped[str | None] = mapped_column(sa.String(45), info={"personal": True})
    user_agent: Mapped[str | None] = mapped_column(sa.String(300), info={"personal": True})

    user: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("expires_at > issued_at", name="expires_after_issued"),)


class Consent(Model):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    consent_type: Mapped[str] = mapped_column(sa.String(50), nullable=False, index=True, info={"personal": False})
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    metadata_json = json_column(js.CONSENT_METADATA, personal=True)

    user: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("revoked_at IS NULL OR revoked_at >= granted_at", name="revoked_after_granted"),
    )


class ConsoleUser(FabUser):
    """FAB's console account (``ab_user``), linked one-to-one to a platform user."""

    __tablename__ = "ab_user"
    __table_args__ = {"extend_existing": True}

    platform_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid(),
        sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_ab_user_platform_user_id_users"),
        unique=True,
        nullable=True,
    )
    # Preferred console language; empty means "follow the browser".
    locale: Mapped[str | None] = mapped_column(sa.String(10), nullable=True, info={"personal": False})
    # IANA time zone the console shows times in (e.g. "Europe/Berlin"); empty means the
    # configured default (BABEL_DEFAULT_TIMEZONE). Validated by app.services.timezones.
    timezone: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, info={"personal": False})
    # Bumped on logout and password change; a session stamped with an older value is
    # refused, so a copied cookie dies with the logout (ASVS 7.4.1).
    session_epoch: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    # TOTP: the shared secret, encrypted with a key derived from SECRET_KEY (it must be read back
    # to check a code, so it cannot be hashed); the last accepted time step refuses a replayed code.
    mfa_secret: Mapped[str | None] = mapped_column(sa.String(256), nullable=True, info={"secret": True})
    mfa_enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, info={"personal": False})
    mfa_last_step: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)

    platform_user: Mapped[PlatformUser | None] = relationship(foreign_keys=[platform_user_id], lazy="joined")


# FAB declares these columns; what they hold is said here (the password is a secret: audit.hooks.SECRET_COLUMNS).
classify(ConsoleUser.__table__, personal=("first_name", "last_name", "username", "email"), not_personal=("last_login",))
classify(FabApiKey.__table__, not_personal=("uuid", "name", "key_hash", "lookup_hash", "key_prefix", "scopes"))


class MfaRecoveryCode(Model):
    """One of a console account's ten single-use recovery codes, stored as a hash."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    console_user_id: Mapped[int] = fk("ab_user.id", "CASCADE")
    code_hash: Mapped[str] = mapped_column(sa.String(128), nullable=False, info={"secret": True})
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), info={"personal": False})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
