"""Messages in threads: the one path that writes a message, and what a person may read and post.

A thread is between a customer and a coach (CUSTOMER_COACH) or a customer and the support desk
(SUPPORT, no coach). A person reads the threads they are a party to: a coach the threads where
they are the coach, a customer those where they are the customer, except the automation notes
threads (``NOTES_CONTEXT``: what staff were told about the customer, never shown to them). A
person posts only as themselves: the caller passes the acting person (a customer app's
customer, a coach client's coach), never a sender from the request body; the recipient is the
thread's other party. Nobody posts into a notes thread through here: it is automation's channel.

``append_message`` takes the thread's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL) before it
moves ``last_message_at``, so two posts at once leave the later time, in the same transaction as
the message. A message to the thread's customer also queues its e-mail (one ``MessageDelivery``,
QUEUED, due at once) in that transaction: the delivery job sends it, so a message is never lost
between being written and being announced. Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.base import utcnow
from app.models.engagement import NOTES_CONTEXT, Channel, DeliveryStatus, Message, MessageDelivery, Thread
from app.services.engagement.errors import EngagementError, NotVisible, Refused

MAX_BODY = 20000  # messages.body_length
_CONTROL = {chr(c) for c in range(32)} - {"\n", "\r", "\t"} | {"\x7f"}


def _not_notes() -> sa.ColumnElement[bool]:
    return sa.or_(Thread.context_id.is_(None), Thread.context_id != NOTES_CONTEXT)


def visible_threads(person_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """The threads ``person_id`` is a party to: as their coach, or as their customer (notes excepted)."""
    return sa.or_(Thread.coach_id == person_id, sa.and_(Thread.customer_id == person_id, _not_notes()))


def threads_of(person_id: uuid.UUID) -> sa.Select:
    """The person's threads, latest conversation first (for the caller to page)."""
    return (
        sa.select(Thread)
        .where(visible_threads(person_id))
        .order_by(Thread.last_message_at.desc().nulls_last(), Thread.id.desc())
    )


def get_thread(person_id: uuid.UUID, thread_id: int, *, lock: bool = False) -> Thread:
    """The thread, if the person is a party to it; ``NotVisible`` otherwise (no difference told)."""
    return thread_where(thread_id, visible_threads(person_id), lock=lock)


def thread_where(thread_id: int, visible: sa.ColumnElement[bool], *, lock: bool = False) -> Thread:
    """The thread with this id that ``visible`` admits (row-locked if asked); ``NotVisible`` otherwise."""
    stmt = sa.select(Thread).where(Thread.id == thread_id, visible)
    if lock:
        stmt = stmt.with_for_update(of=Thread).execution_options(populate_existing=True)
    thread = db.session.scalars(stmt).first()
    if thread is None:
        raise NotVisible(_("No such thread."))
    return thread


def messages_of(person_id: uuid.UUID, thread_id: int) -> sa.Select:
    """The thread's messages, newest first; ``NotVisible`` if the person is not a party to it."""
    get_thread(person_id, thread_id)
    return sa.select(Message).where(Message.thread_id == thread_id).order_by(Message.sent_at.desc(), Message.id.desc())


def check_body(body: Any) -> str:
    """A message text: a non-empty string of at most 20,000 characters, no control characters but line breaks."""
    if not isinstance(body, str):
        raise EngagementError(_("body must be text."), field="body")
    text = body.strip()
    if not text:
        raise EngagementError(_("body must not be empty."), field="body")
    if len(text) > MAX_BODY:
        raise EngagementError(_("body is longer than %(limit)s characters.", limit=MAX_BODY), field="body")
    if any(ch in _CONTROL for ch in text):
        raise EngagementError(_("body contains control characters."), field="body")
    return text


def append_message(
    session: Session,
    thread: Thread,
    *,
    sender_id: uuid.UUID,
    recipient_id: uuid.UUID | None,
    body: str,
    sent_at: dt.datetime,
) -> Message:
    """Add a message to ``thread`` and move its ``last_message_at`` forward, under the thread's row lock.

    The one place a message is written (the API, the inbox, automation's actions): the lock orders
    concurrent posts to one thread, so ``last_message_at`` ends at the latest of them, never an
    earlier one. A message to the thread's customer queues its e-mail delivery.
    """
    if thread.id is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Thread.id).where(Thread.id == thread.id).with_for_update())
        session.refresh(thread, attribute_names=["last_message_at"])
    message = Message(thread_id=thread.id, sender_id=sender_id, recipient_id=recipient_id, body=body, sent_at=sent_at)
    session.add(message)
    if thread.last_message_at is None or thread.last_message_at < sent_at:
        thread.last_message_at = sent_at
    session.flush()
    if recipient_id is not None and recipient_id == thread.customer_id:
        session.add(
            MessageDelivery(
                message_id=message.id,
                recipient_id=recipient_id,
                channel=Channel.EMAIL,
                status=DeliveryStatus.QUEUED,
                attempts=0,
                next_attempt_at=sent_at,
            )
        )
        session.flush()
    return message


def post_message(person_id: uuid.UUID, thread_id: int, body: Any, *, now: dt.datetime | None = None) -> Message:
    """Post ``body`` into the thread as ``person_id`` (the acting person, never one named by the request)."""
    text = check_body(body)
    thread = get_thread(person_id, thread_id, lock=True)
    if thread.context_id == NOTES_CONTEXT:
        raise Refused(_("Automation notes threads are read-only."))
    if person_id == thread.customer_id:
        recipient = thread.coach_id
    elif person_id == thread.coach_id:
        recipient = thread.customer_id
    else:  # visible_threads admits parties only; kept for the reader
        raise NotVisible(_("No such thread."))
    return append_message(db.session, thread, sender_id=person_id, recipient_id=recipient, body=text,
                          sent_at=now or utcnow())  # fmt: skip
