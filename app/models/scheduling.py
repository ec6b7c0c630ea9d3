"""Scheduling and attendance: scheduled sessions, rosters, coach availability, waitlists.

The roster is ``session_participants``: one row per customer and session, PRIMARY when they hold a
seat, WAITLIST while they queue. ``waitlist_entries`` is the queue's record: a WAITLIST participant
has exactly one entry with ``promoted_at`` empty, and a promoted one keeps its entry with
``promoted_at`` set. The database ties each entry to its participant row (composite foreign key);
the booking service (``app.services.scheduling.booking``) keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, fk, utcnow
from app.models.identity import PlatformUser
from app.models.types import UTCDateTime, enum_column_type


class SessionType(enum.StrEnum):
    CLASS = "CLASS"
    ONE_ON_ONE = "ONE_ON_ONE"
    VIRTUAL = "VIRTUAL"
    HYBRID = "HYBRID"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class ParticipantRole(enum.StrEnum):
    PRIMARY = "PRIMARY"
    WAITLIST = "WAITLIST"


class AttendanceStatus(enum.StrEnum):
    REGISTERED = "REGISTERED"
    ATTENDED = "ATTENDED"
    NO_SHOW = "NO_SHOW"
    CANCELLED = "CANCELLED"
    LATE_CANCEL = "LATE_CANCEL"


class AvailabilityExceptionKind(enum.StrEnum):
    TIME_OFF = "TIME_OFF"  # not available, whatever the weekly slots say
    EXTRA = "EXTRA"  # available outside the weekly slots


class SessionSeries(Model):
    """A recurring series: the rule its occurrences were made from (each occurrence is a session row)."""

    __tablename__ = "session_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    # An RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10), read by python-dateutil.
    rrule: Mapped[str] = mapped_column(sa.String(500), nullable=False, info={"personal": False})
    timezone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="UTC", info={"personal": False})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.rrule


class ScheduledSession(Model):
    """The seed's scheduling ``Sessions`` table."""

    __tablename__ = "scheduled_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_type: Mapped[SessionType] = mapped_column(
        enum_column_type(SessionType, "session_type"), nullable=False, index=True
    )
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True, info={"personal": False})
    end_time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, info={"personal": False})
    timezone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="UTC", info={"personal": False})
    location: Mapped[str | None] = mapped_column(sa.String(200), info={"personal": False})
    join_link: Mapped[str | None] = mapped_column(sa.String(2000), info={"personal": False})
    capacity: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[SessionStatus] = mapped_column(
        enum_column_type(SessionStatus, "session_status"), nullable=False, default=SessionStatus.SCHEDULED, index=True
    )
    # Additions: who runs it (coach row scope) and a human title for the calendar.
    coach_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    title: Mapped[str | None] = mapped_column(sa.String(200), info={"personal": False})

    # Additions for the calendar: the series an occurrence belongs to, and an edit counter that
    # refuses a stale move or edit (someone else changed the session since it was loaded).
    series_id: Mapped[int | None] = fk("session_series.id", "SET NULL", nullable=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    coach: Mapped[PlatformUser | None] = relationship(lazy="joined")
    series: Mapped[SessionSeries | None] = relationship(lazy="select")

    __table_args__ = (
        sa.CheckConstraint("end_time > start_time", name="end_after_start"),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.Index("ix_scheduled_sessions_coach_id_start_time", "coach_id", "start_time"),
    )

    def __str__(self) -> str:
        return self.title or f"{self.session_type.value} {self.start_time:%Y-%m-%d %H:%M}"


class SessionParticipant(Model):
    __tablename__ = "session_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_session_participants_session_id_customer_id.
    session_id: Mapped[int] = fk("scheduled_sessions.id", "CASCADE", index=False)
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    role: Mapped[ParticipantRole] = mapped_column(
        enum_column_type(ParticipantRole, "participant_role"), nullable=False, default=ParticipantRole.PRIMARY
    )
    attendance_status: Mapped[AttendanceStatus] = mapped_column(
        enum_column_type(AttendanceStatus, "attendance_status"), nullable=False, default=AttendanceStatus.REGISTERED
    )
    feedback_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # Additions: when the booking (or waitlist join) was made, and when it was cancelled.
    booked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[ScheduledSession] = relationship(lazy="joined")
    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("session_id", "customer_id"),
        sa.CheckConstraint(
            "feedback_score IS NULL OR (feedback_score >= 1 AND feedback_score <= 5)", name="feedback_range"
        ),
        # Seat counts per session (calendar events, booking) read only this index, not the rows.
        sa.Index("ix_session_participants_seats", "session_id", "role", "attendance_status"),
    )


class CoachAvailability(Model):
    __tablename__ = "coach_availability"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    day_of_week: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    start_time: Mapped[dt.time] = mapped_column(sa.Time, nullable=False)
    end_time: Mapped[dt.time] = mapped_column(sa.Time, nullable=False)
    capacity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    # Addition: the zone the weekly slot's wall-clock times are in (the coach's, when made).
    timezone: Mapped[str] = mapped_column(
        sa.String(64), nullable=False, default="UTC", server_default="UTC", info={"personal": False}
    )

    coach: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("day_of_week >= 0 AND day_of_week <= 6", name="day_range"),
        sa.CheckConstraint("end_time > start_time", name="end_after_start"),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
    )


class WaitlistEntry(Model):
    __tablename__ = "waitlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_waitlist_entries_session_id_customer_id.
    session_id: Mapped[int] = fk("scheduled_sessions.id", "CASCADE", index=False)
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[ScheduledSession] = relationship(lazy="joined")
    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("session_id", "customer_id"),
        sa.CheckConstraint("promoted_at IS NULL OR promoted_at >= joined_at", name="promoted_after_joined"),
        # Every entry is a participant's: the queue can never name someone the roster does not hold.
        sa.ForeignKeyConstraint(
            ["session_id", "customer_id"],
            ["session_participants.session_id", "session_participants.customer_id"],
            ondelete="CASCADE",
            name="fk_waitlist_entries_participant",
        ),
    )


class AvailabilityException(Model):
    """A dated change to a coach's weekly availability: time off, or an extra slot."""

    __tablename__ = "coach_availability_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    kind: Mapped[AvailabilityExceptionKind] = mapped_column(
        enum_column_type(AvailabilityExceptionKind, "availability_exception_kind"), nullable=False
    )
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    note: Mapped[str | None] = mapped_column(sa.String(200), info={"personal": True})

    coach: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)


class CalendarFeed(Model):
    """A coach's secret iCal feed address: only the token's SHA-256 is kept; rotating replaces it."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid(), index=False, unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True, info={"secret": True})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
