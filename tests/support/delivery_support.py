"""Deliveries for the delivery tests: people, a coach's message, an announcement, queued rows, a real SMTP sink."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.engagement import (
    Announcement,
    AnnouncementStatus,
    Channel,
    DeliveryStatus,
    Message,
    MessageDelivery,
    Thread,
    ThreadContext,
)
from app.models.identity import PlatformUser, RoleCode
from app.services.engagement.mail_sink import MailSink
from tests.support.plan_support import make_user


def person(name: str, role: RoleCode = RoleCode.CUSTOMER, locale: str = "en", email_address: str | None = None):
    user = make_user(name, role)
    user.locale = locale
    if email_address:
        user.email = email_address
    db.session.flush()
    return user


def coach_message(coach: PlatformUser, customer: PlatformUser, body: str, *, to_customer: bool = True) -> Message:
    thread = Thread(subject="Plan", context_type=ThreadContext.CUSTOMER_COACH, customer_id=customer.id,
                    coach_id=coach.id)  # fmt: skip
    db.session.add(thread)
    db.session.flush()
    sender, recipient = (coach, customer) if to_customer else (customer, coach)
    message = Message(thread_id=thread.id, sender_id=sender.id, recipient_id=recipient.id, body=body)
    db.session.add(message)
    db.session.flush()
    return message


def announcement(
    title: str = "Gym closed Monday", body: str = "The gym is closed on Monday for repairs."
) -> Announcement:
    row = Announcement(title=title, body=body, channel=Channel.EMAIL, status=AnnouncementStatus.SENT,
                       is_marketing=False)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def queue(recipient: PlatformUser | uuid.UUID, channel: Channel = Channel.EMAIL, *, message: Message | None = None,
          announcement_row: Announcement | None = None) -> MessageDelivery:  # fmt: skip
    row = MessageDelivery(
        recipient_id=getattr(recipient, "id", recipient),
        channel=channel,
        message_id=message.id if message else None,
        announcement_id=announcement_row.id if announcement_row else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def statuses() -> dict[int, Any]:
    db.session.expire_all()
    return {d.id: d for d in db.session.scalars(sa.select(MessageDelivery))}


def count_by_status(announcement_id: int) -> dict[DeliveryStatus, int]:
    rows = db.session.execute(
        sa.select(MessageDelivery.status, sa.func.count())
        .where(MessageDelivery.announcement_id == announcement_id)
        .group_by(MessageDelivery.status)
    )
    return {DeliveryStatus(status): n for status, n in rows}


def received(directory: Path) -> list[email.message.EmailMessage]:
    """Every mail the sink stored, oldest first, parsed."""
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(Path(directory).glob("*.eml"))
    ]


@contextmanager
def smtp_sink(app: Flask, directory: Path, **smtp: Any) -> Iterator[MailSink]:
    """A real SMTP server for the test, with the app's MAIL_* settings pointed at it (restored after)."""
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SINK", "MAIL_SINK_DIR")
    saved = {k: app.config.get(k) for k in keys}
    sink = MailSink(directory, keep=10_000, **smtp).start()
    app.config.update(MAIL_SERVER=sink.host, MAIL_PORT=sink.port, MAIL_USE_TLS=False, MAIL_USERNAME=None,
                      MAIL_PASSWORD=None, MAIL_SINK=True, MAIL_SINK_DIR=directory)  # fmt: skip
    try:
        yield sink
    finally:
        sink.stop()
        app.config.update(saved)
