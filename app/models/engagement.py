"""Engagement and communication: threads, messages, announcements, community, challenges, tickets."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import json_schemas as js
from app.models.base import CreatedAtMixin, Model, fk, json_column, trigram_index, utcnow
from app.models.identity import PlatformUser
from app.models.types import UTCDateTime, enum_column_type


class ThreadContext(enum.StrEnum):
    CUSTOMER_COACH = "CUSTOMER_COACH"
    SUPPORT = "SUPPORT"


class Channel(enum.StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    INAPP = "INAPP"


class AnnouncementStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    SENT = "SENT"
    CANCELLED = "CANCELLED"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class PostStatus(enum.StrEnum):
    PUBLISHED = "PUBLISHED"
    FLAGGED = "FLAGGED"
    HIDDEN = "HIDDEN"
    REMOVED = "REMOVED"


class ReactionType(enum.StrEnum):
    LIKE = "LIKE"
    LOVE = "LOVE"
    CLAP = "CLAP"
    FIRE = "FIRE"
    STRONG = "STRONG"


class TicketPriority(enum.StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class TicketStatus(enum.StrEnum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


# Thread.context_id of the threads automation writes staff notes into: never shown to the customer.
NOTES_CONTEXT = "automation-notes"


class Thread(CreatedAtMixin, Model):
    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False, info={"personal": True})
    last_message_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    context_type: Mapped[ThreadContext] = mapped_column(
        enum_column_type(ThreadContext, "thread_context"), nullable=False, index=True
    )
    # The coach assignment id (CUSTOMER_COACH) or support ticket id (SUPPORT), as text.
    context_id: Mapped[str | None] = mapped_column(sa.String(64), info={"personal": False})
    # Additions for row scope: the customer and the coach the thread is between.
    customer_id: Mapped[uuid.UUID | None] = fk("users.id", "CASCADE", type_=sa.Uuid(), nullable=True)
    coach_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)

    customer: Mapped[PlatformUser | None] = relationship(foreign_keys=[customer_id], lazy="joined")
    coach: Mapped[PlatformUser | None] = relationship(foreign_keys=[coach_id], lazy="joined")

    def __str__(self) -> str:
        return self.subject


class Message(Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = fk("threads.id", "CASCADE")
    sender_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    recipient_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, info={"personal": True})
    attachments_json = json_column(js.ATTACHMENTS, personal=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    thread: Mapped[Thread] = relationship(lazy="joined")
    sender: Mapped[PlatformUser] = relationship(foreign_keys=[sender_id], lazy="joined")
    recipient: Mapped[PlatformUser | None] = relationship(foreign_keys=[recipient_id], lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("length(body) <= 20000", name="body_length"),
        sa.CheckConstraint("read_at IS NULL OR read_at >= sent_at", name="read_after_sent"),
        # The unread counts (the navbar badge on every page, the inbox, the coach's workspace) read only the
        # unread rows of a thread, however long its read history.
        sa.Index(
            "ix_messages_unread",
            "thread_id",
            postgresql_where=sa.text("read_at IS NULL"),
            sqlite_where=sa.text("read_at IS NULL"),
        ),
    )


class Announcement(CreatedAtMixin, Model):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The business's words to many customers, about no one in particular.
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, info={"personal": False})
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, info={"personal": False})
    channel: Mapped[Channel] = mapped_column(enum_column_type(Channel, "channel"), nullable=False, index=True)
    target_segment: Mapped[str | None] = mapped_column(sa.String(100), info={"personal": False})
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[AnnouncementStatus] = mapped_column(
        enum_column_type(AnnouncementStatus, "announcement_status"), nullable=False, default=AnnouncementStatus.DRAFT
    )
    # The audience as typed criteria (target_segment stays its human-readable summary).
    segment_json = json_column(js.ANNOUNCEMENT_SEGMENT, personal=False)
    # Marketing goes only to customers with an unrevoked MARKETING consent; service notices to everyone.
    is_marketing: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    audience_size: Mapped[int | None] = mapped_column(sa.Integer)
    sent_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    skipped_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    created_by_id: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)

    def __str__(self) -> str:
        return self.title


class MessageDelivery(CreatedAtMixin, Model):
    """One message or announcement on its way to one recipient over one channel, with retries."""

    __tablename__ = "message_deliveries"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    # Indexed as the leading column of uq_message_deliveries_message_id_channel.
    message_id: Mapped[int | None] = fk("messages.id", "CASCADE", nullable=True, index=False)
    # Indexed as the leading column of uq_message_deliveries_announcement_id_recipient_id_channel.
    announcement_id: Mapped[int | None] = fk("announcements.id", "CASCADE", nullable=True, index=False)
    recipient_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    channel: Mapped[Channel] = mapped_column(enum_column_type(Channel, "channel"), nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column_type(DeliveryStatus, "delivery_status"), nullable=False, default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Addresses in a server's reply are masked before they are stored (channels.safe_error).
    last_error: Mapped[str | None] = mapped_column(sa.String(300), info={"personal": False})
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint("(message_id IS NULL) <> (announcement_id IS NULL)", name="one_source"),
        sa.UniqueConstraint("message_id", "channel"),
        sa.UniqueConstraint("announcement_id", "recipient_id", "channel"),
        # The delivery job's scan: queued deliveries that are due.
        sa.Index(None, "status", "next_attempt_at"),
    )


class CommunityPost(Model):
    __tablename__ = "community_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    community_id: Mapped[int] = mapped_column(sa.Integer, nullable=False, index=True)
    content: Mapped[str] = mapped_column(sa.Text, nullable=False, info={"personal": True})
    media_url: Mapped[str | None] = mapped_column(sa.String(2000), info={"personal": True})
    status: Mapped[PostStatus] = mapped_column(
        enum_column_type(PostStatus, "post_status"), nullable=False, default=PostStatus.PUBLISHED, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    author: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("length(content) <= 10000", name="content_length"),)

    def __str__(self) -> str:
        return (self.content or "")[:60]


class CommunityReaction(Model):
    __tablename__ = "community_reactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_community_reactions_post_id_user_id_type.
    post_id: Mapped[int] = fk("community_posts.id", "CASCADE", index=False)
    user_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    type: Mapped[ReactionType] = mapped_column(enum_column_type(ReactionType, "reaction_type"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    post: Mapped[CommunityPost] = relationship(lazy="joined")
    user: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("post_id", "user_id", "type"),)


class Challenge(Model):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    end_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    rules_json = json_column(js.CHALLENGE_RULES)
    # When the ranking job last computed the results; finalized_at once, after the end date.
    ranked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (sa.CheckConstraint("end_date >= start_date", name="end_after_start"),)

    def __str__(self) -> str:
        return self.name


class ChallengeResult(Model):
    __tablename__ = "challenge_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the leading column of uq_challenge_results_challenge_id_customer_id.
    challenge_id: Mapped[int] = fk("challenges.id", "CASCADE", index=False)
    customer_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    score: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(12, 2), nullable=False, default=0)
    rank: Mapped[int | None] = mapped_column(sa.Integer)
    joined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow, index=True
    )

    challenge: Mapped[Challenge] = relationship(lazy="joined")
    customer: Mapped[PlatformUser] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("challenge_id", "customer_id"),
        sa.CheckConstraint("score >= 0", name="score_non_negative"),
        sa.CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
    )


class SupportTicket(CreatedAtMixin, Model):
    __tablename__ = "support_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[uuid.UUID] = fk("users.id", "CASCADE", type_=sa.Uuid())
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False, info={"personal": True})
    priority: Mapped[TicketPriority] = mapped_column(
        enum_column_type(TicketPriority, "ticket_priority"), nullable=False, default=TicketPriority.NORMAL, index=True
    )
    status: Mapped[TicketStatus] = mapped_column(
        enum_column_type(TicketStatus, "ticket_status"), nullable=False, default=TicketStatus.OPEN, index=True
    )
    sla_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    assigned_to: Mapped[uuid.UUID | None] = fk("users.id", "SET NULL", type_=sa.Uuid(), nullable=True)
    resolution_notes: Mapped[str | None] = mapped_column(sa.Text, info={"personal": True})
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    requester: Mapped[PlatformUser] = relationship(foreign_keys=[requester_id], lazy="joined")
    assignee: Mapped[PlatformUser | None] = relationship(foreign_keys=[assigned_to], lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("closed_at IS NULL OR status IN ('RESOLVED', 'CLOSED')", name="closed_only_when_done"),
        trigram_index("support_tickets", "subject"),
    )

    def __str__(self) -> str:
        return self.subject
