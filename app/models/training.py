"""Training content and plans: the catalogue, programs, customer plans and badges."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.base import Model, TimestampMixin, fk, json_column, trigram_index, utcnow
from app.models.identity import PlatformUser
from app.models.types import UTCDateTime, enum_column_type


class ItemType(enum.StrEnum):
    EXERCISE = "EXERCISE"
    MEAL = "MEAL"
    HABIT = "HABIT"


class Difficulty(enum.StrEnum):
    BEGINNER = "BEGINNER"
    INTERMEDIATE = "INTERMEDIATE"
    ADVANCED = "ADVANCED"


class HabitFrequency(enum.StrEnum):
    DAILY = "DAILY"
    WEEKDAYS = "WEEKDAYS"
    WEEKLY = "WEEKLY"
    TWICE_WEEKLY = "TWICE_WEEKLY"


class ProgramLevel(enum.StrEnum):
    BEGINNER = "BEGINNER"
    INTERMEDIATE = "INTERMEDIATE"
    ADVANCED = "ADVANCED"
    ALL_LEVELS = "ALL_LEVELS"


class Visibility(enum.StrEnum):
    PRIVATE = "PRIVATE"
    SHARED = "SHARED"
    PUBLIC = "PUBLIC"


class PlanStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class CompletionState(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"
    SKIPPED = "SKIPPED"
    MISSED = "MISSED"


class Exercise(Model):
    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    category: Mapped[str] = mapped_column(sa.String(50), nullable=False, index=True)
    difficulty: Mapped[Difficulty] = mapped_column(enum_column_type(Difficulty, "difficulty"), nullable=False)
    equipment: Mapped[str | None] = mapped_column(sa.String(200))
    video_url: Mapped[str | None] = mapped_column(sa.String(2000))
    transcript_url: Mapped[str | None] = mapped_column(sa.String(2000))
    thumbnail_url: Mapped[str | None] = mapped_column(sa.String(2000))

    def __str__(self) -> str:
        return self.name


class Meal(Model):
    __tablename__ = "meals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    macros_json = json_column(js.MACROS)
    allergens: Mapped[str | None] = mapped_column(sa.String(300))
    instructions: Mapped[str | None] = mapped_column(sa.Text)

    def __str__(self) -> str:
        return self.name


class Habit(Model):
    __tablename__ = "habits"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    frequency: Mapped[HabitFrequency] = mapped_column(
        enum_column_type(HabitFrequency, "habit_frequency"), nullable=False
    )

    def __str__(self) -> str:
        return self.name


class Program(TimestampMixin, Model):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True, info={"personal": False})
    description: Mapped[str | None] = mapped_column(sa.Text, info={"personal": False})
    goal: Mapped[str | None] = mapped_column(sa.String(100), info={"personal": False})
    level: Mapped[ProgramLevel] = mapped_column(enum_column_type(ProgramLevel, "program_level"), nullable=False)
    created_by: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    visibility: Mapped[Visibility] = mapped_column(
        enum_column_type(Visibility, "visibility"), nullable=False, default=Visibility.PRIVATE, index=True
    )
    # Builder additions: number of weeks in the grid and a version for optimistic concurrency.
    weeks: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    author: Mapped[PlatformUser | None] = relationship(foreign_keys=[created_by], lazy="joined")
    items: Mapped[list[ProgramItem]] = relationship(
        back_populates="program",
        order_by="(ProgramItem.week_index, ProgramItem.day_index, ProgramItem.order_index)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        sa.CheckConstraint("weeks >= 1 AND weeks <= 104", name="weeks_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        trigram_index("programs", "title"),
    )

    def __str__(self) -> str:
        return self.title


class ProgramItem(Model):
    __tablename__ = "program_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = fk("programs.id", "CASCADE")
    item_type: Mapped[ItemType] = mapped_column(enum_column_type(ItemType, "item_type"), nullable=False)
    item_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    order_index: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    prescription_json = json_column(js.PRESCRIPTION)
    # Grid placement for the builder (0-based week and day within the week).
    week_index: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    day_index: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")

    program: Mapped[Program] = relationship(back_populates="items")

    __table_args__ = (
        sa.CheckConstraint("order_index >= 0", name="order_non_negative"),
        sa.CheckConstraint("week_index >= 0", name="week_non_negative"),
        sa.CheckConstraint("day_index >= 0 AND day_index <= 6", name="day_range"),
        sa.Index(None, "item_type", "item_id"),
    )


class CustomerPlan(TimestampMixin, Model):
    __tablename__ = "customer_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_customer_plans_open_assignment.
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    program_id: Mapped[int] = fk("programs.id", "RESTRICT")
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True, info={"personal": False})
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date, info={"personal": False})
    status: Mapped[PlanStatus] = mapped_column(enum_column_type(PlanStatus, "plan_status"), nullable=False, index=True)
    # Plan builder: the program week (1-based) the plan starts at, so later program edits land on the right dates.
    start_week: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    customer: Mapped[PlatformUser] = relationship(lazy="joined")
    program: Mapped[Program] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("start_week >= 1", name="start_week_positive"),
        # Assigning the same program with the same start twice is a no-op, even under concurrency.
        sa.Index(
            "uq_customer_plans_open_assignment",
            "customer_id",
            "program_id",
            "start_date",
            unique=True,
            postgresql_where=sa.text("status <> 'CANCELLED'"),
            sqlite_where=sa.text("status <> 'CANCELLED'"),
        ),
    )

    def __str__(self) -> str:
        return f"{self.program} · {self.customer}" if self.program and self.customer else f"#{self.id}"


class PlanItem(Model):
    __tablename__ = "plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of ix_plan_items_plan_id_scheduled_date.
    plan_id: Mapped[int] = fk("customer_plans.id", "CASCADE", index=False)
    scheduled_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    item_type: Mapped[ItemType] = mapped_column(enum_column_type(ItemType, "plan_item_type"), nullable=False)
    item_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    completion_state: Mapped[CompletionState] = mapped_column(
        enum_column_type(CompletionState, "completion_state"), nullable=False, default=CompletionState.PENDING
    )
    completion_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    feedback_text: Mapped[str | None] = mapped_column(sa.Text, info={"personal": True})
    substitution_item_id: Mapped[int | None] = mapped_column(sa.Integer)
    # Which program item this came from, so program edits can follow into future items.
    program_item_id: Mapped[int | None] = fk("program_items.id", "SET NULL", nullable=True)
    order_index: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")

    plan: Mapped[CustomerPlan] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(
            "completion_state NOT IN ('COMPLETED', 'PARTIAL') OR completion_at IS NOT NULL", name="completed_has_time"
        ),
        sa.Index(None, "plan_id", "scheduled_date"),
    )


class Badge(Model):
    __tablename__ = "badges"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    criteria_json = json_column(js.BADGE_CRITERIA)

    def __str__(self) -> str:
        return self.name


class CustomerBadge(Model):
    __tablename__ = "customer_badges"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_customer_badges_customer_id_badge_id.
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False)
    badge_id: Mapped[int] = fk("badges.id", "CASCADE")
    awarded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    customer: Mapped[PlatformUser] = relationship(lazy="joined")
    badge: Mapped[Badge] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("customer_id", "badge_id"),)
