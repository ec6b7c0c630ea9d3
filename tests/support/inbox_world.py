"""A small inbox for the inbox tests: the ``coach`` account's conversation and notes, another coach's, a ticket.

Written through the services (``append_message``), as the API and automation write them, so
``last_message_at`` and the queued deliveries are what the service keeps.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.engagement import NOTES_CONTEXT, Message, MessageDelivery, Thread, ThreadContext
from app.models.identity import ConsoleUser, RoleCode
from app.policy.scope import Actor
from app.services.engagement.messages import append_message
from tests.support.plan_support import make_customer, make_user

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)


@dataclass
class InboxWorld:
    coach: uuid.UUID  # the ``coach`` console account's platform user
    support: uuid.UUID  # the ``support`` account's
    admin: uuid.UUID
    other_coach: uuid.UUID
    cara: uuid.UUID  # the coach's customer
    dan: uuid.UUID  # the other coach's customer
    bot: uuid.UUID  # the automation sender of the notes
    coaching: int  # coach <-> cara: two unread from cara, one from the coach
    notes: int  # automation notes to the coach about cara: one unread
    others: int  # other coach <-> dan: one unread from dan
    ticket: int  # SUPPORT thread of cara: one unread

    def actor(self, role: str) -> Actor:
        ids = {"Coach": self.coach, "Support": self.support, "Admin": self.admin, "Manager": None}
        return Actor(ids.get(role), frozenset({role}))


def platform_id(username: str) -> uuid.UUID:
    return db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == username))


def _thread(subject: str, context: ThreadContext, customer: uuid.UUID, coach: uuid.UUID | None, cid: str) -> Thread:
    thread = Thread(subject=subject, context_type=context, customer_id=customer, coach_id=coach, context_id=cid)
    db.session.add(thread)
    db.session.flush()
    return thread


def _say(thread: Thread, sender: uuid.UUID, recipient: uuid.UUID | None, body: str, minutes: int) -> None:
    at = T0 + dt.timedelta(minutes=minutes)
    append_message(db.session, thread, sender_id=sender, recipient_id=recipient, body=body, sent_at=at)


def build_inbox_world(app: Flask) -> InboxWorld:
    """Needs the console accounts (the ``accounts`` fixture); four threads, their times one apart."""
    with app.app_context():
        coach, support, admin = platform_id("coach"), platform_id("support"), platform_id("admin")
        other = make_user("Coach Bee", RoleCode.COACH).id
        bot = make_user("Coachdesk automation", RoleCode.ADMIN).id
        cara = make_customer("Cara Customer", "UTC", coach)
        dan = make_customer("Dan Customer", "UTC", other)
        coaching = _thread("Knee pain", ThreadContext.CUSTOMER_COACH, cara, coach, "1")
        _say(coaching, cara, coach, "My knee hurts after squats.", 10)
        _say(coaching, coach, cara, "Let's swap squats for lunges.", 20)
        _say(coaching, cara, coach, "Lunges hurt too.", 30)
        notes = _thread("Automation notes", ThreadContext.CUSTOMER_COACH, cara, coach, NOTES_CONTEXT)
        _say(notes, bot, coach, "Cara missed three plan days.", 5)
        others = _thread("Diet question", ThreadContext.CUSTOMER_COACH, dan, other, "2")
        _say(others, dan, other, "Is rice fine?", 40)
        ticket = _thread("Charged twice", ThreadContext.SUPPORT, cara, None, "77")
        _say(ticket, cara, None, "I was charged twice in March.", 50)
        db.session.commit()
        return InboxWorld(coach, support, admin, other, cara, dan, bot, coaching.id, notes.id, others.id, ticket.id)


def unread_rows(thread_id: int) -> int:
    """The staff-side unread messages of a thread, counted straight from the rows (not through the service)."""
    customer = db.session.scalar(sa.select(Thread.customer_id).where(Thread.id == thread_id))
    rows = db.session.scalars(sa.select(Message).where(Message.thread_id == thread_id)).all()
    return sum(1 for m in rows if m.read_at is None and m.recipient_id != customer)


def state(app: Flask) -> dict:
    """What a refused request must leave as it was: messages, read marks, deliveries, threads' times."""
    with app.app_context():
        return {
            "messages": db.session.execute(
                sa.select(Message.id, Message.body, Message.read_at).order_by(Message.id)
            ).all(),
            "deliveries": db.session.scalar(sa.select(sa.func.count(MessageDelivery.id))),
            "threads": db.session.execute(sa.select(Thread.id, Thread.last_message_at).order_by(Thread.id)).all(),
        }
