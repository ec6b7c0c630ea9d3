"""Customer profile and onboarding: profiles, assessments, coach assignments."""

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


class Gender(enum.StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    NON_BINARY = "NON_BINARY"
    UNDISCLOSED = "UNDISCLOSED"


class CustomerProfile(Model):
    __tablename__ = "customer_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    date_of_birth: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": True})
    gender: Mapped[Gender | None] = mapped_column(enum_column_type(Gender, "gender"), info={"personal": True})
    timezone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="UTC", info={"personal": False})
    goals_json = json_column(js.GOALS, personal=True)
    risk_flags: Mapped[str | None] = mapped_column(sa.String(500), info={"personal": True})
    emergency_contact: Mapped[str | None] = mapped_column(sa.String(300), info={"personal": True})

    user: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("date_of_birth IS NULL OR date_of_birth > '1900-01-01'", name="dob_sane"),)

    def __str__(self) -> str:
        return str(self.user) if self.user else str(self.user_id)


class Assessment(Model):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    questionnaire_version: Mapped[str] = mapped_column(sa.String(20), nullable=False, info={"personal": False})
    responses_json = json_column(js.ASSESSMENT_RESPONSES, nullable=False, personal=True)
    score: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(5, 2), info={"personal": True})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    user: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),)


class CoachAssignment(Model):
    """Which coach looks after which customer; the basis of a coach's row scope."""

    __tablename__ = "coach_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_coach_assignments_customer_id_coach_id.
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    coach_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    is_primary: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    customer: Mapped[PlatformUser] = relationship(foreign_keys=[customer_id], lazy="joined")
    coach: Mapped[PlatformUser] = relationship(foreign_keys=[coach_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("customer_id", "coach_id"),
        sa.CheckConstraint("customer_id <> coach_id", name="not_self"),
    )

    def __str__(self) -> str:
        """Customer and coach (both relations load with it): what a thread's context shows."""
        if self.customer is not None and self.coach is not None:
            return f"{self.customer} – {self.coach}"
        return f"#{self.id}"
