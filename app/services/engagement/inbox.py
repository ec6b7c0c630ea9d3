"""The staff inbox: the threads a coach or the support desk answers, unread counts, read state, replies.

Who sees what (DESIGN.md's row scope): a coach the threads where they are the coach, the
automation notes about their customers included; Support the SUPPORT threads (the desk answers
them together); an Admin everything. Who answers: a coach their own conversations, Support and
Admins the SUPPORT threads, each as themselves to the thread's customer; an Admin reading a
coach's conversation only reads it (nothing marked, no reply), and nobody replies into a notes
thread (automation's channel to the coach).

"Unread" is staff-side: a message not addressed to the thread's customer (the customer's own
messages, the automation notes) whose ``read_at`` is empty. Opening a thread marks those read for
the person who answers it, never earlier than each was sent. ``last_message_at`` moves only in
``messages.append_message``. Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.base import utcnow
from app.models.engagement import NOTES_CONTEXT, Message, Thread, ThreadContext
from app.models.identity import PlatformUser
from app.policy.roles import ADMIN, SUPPORT
from app.policy.scope import Actor
from app.services.engagement.errors import Refused
from app.services.engagement.messages import append_message, check_body, thread_where

PAGE_SIZE = 25
MAX_CUSTOMER_CHOICES = 500
MAX_MESSAGES_SHOWN = 500


class InboxContext(enum.StrEnum):
    """The inbox's context filter: a coaching conversation, a support thread, automation's notes."""

    COACHING = "COACHING"
    SUPPORT = "SUPPORT"
    NOTES = "NOTES"


@dataclass(frozen=True)
class InboxRow:
    thread: Thread
    unread: int


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    pages: int


def _is_desk(actor: Actor) -> bool:
    return bool(actor.roles & {SUPPORT, ADMIN})


def _notes() -> sa.ColumnElement[bool]:
    return Thread.context_id == NOTES_CONTEXT


def answered_by(actor: Actor) -> sa.ColumnElement[bool]:
    """The threads ``actor`` answers (and reads for): their own as coach, SUPPORT threads for the desk."""
    parts: list[sa.ColumnElement[bool]] = []
    if actor.is_coach and actor.user_id is not None:
        parts.append(Thread.coach_id == actor.user_id)
    if _is_desk(actor):
        parts.append(Thread.context_type == ThreadContext.SUPPORT)
    return sa.or_(*parts) if parts else sa.false()


def inbox_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """The threads ``actor`` may open: those they answer, and every thread for an Admin."""
    if actor.is_admin:
        return sa.true()
    return answered_by(actor)


def to_staff() -> sa.ColumnElement[bool]:
    """A message addressed to the staff side of its thread (not to the thread's customer)."""
    return Message.recipient_id.is_distinct_from(Thread.customer_id)


def _unread_of_thread() -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count(Message.id))
        .where(Message.thread_id == Thread.id, Message.read_at.is_(None), to_staff())
        .correlate(Thread)
        .scalar_subquery()
    )


def _filters(customer_id: uuid.UUID | None, context: InboxContext | None) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if customer_id is not None:
        out.append(Thread.customer_id == customer_id)
    if context is InboxContext.SUPPORT:
        out.append(Thread.context_type == ThreadContext.SUPPORT)
    elif context is InboxContext.NOTES:
        out.append(_notes())
    elif context is InboxContext.COACHING:
        not_notes = sa.func.coalesce(Thread.context_id, "") != NOTES_CONTEXT
        out.extend((Thread.context_type == ThreadContext.CUSTOMER_COACH, not_notes))
    return out


def inbox(
    actor: Actor,
    *,
    customer_id: uuid.UUID | None = None,
    context: InboxContext | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> InboxPage:
    """One page of the actor's threads, latest conversation first, each with its staff-side unread count."""
    criteria = [inbox_scope(actor), *_filters(customer_id, context)]
    total = db.session.scalar(sa.select(sa.func.count(Thread.id)).where(*criteria)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    stmt = (
        sa.select(Thread, _unread_of_thread().label("unread"))
        .where(*criteria)
        .order_by(Thread.last_message_at.desc().nulls_last(), Thread.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = [InboxRow(thread, unread or 0) for thread, unread in db.session.execute(stmt)]
    return InboxPage(rows, total, page, pages)


def unread_total(actor: Actor) -> int:
    """Unread staff-side messages in the threads the actor answers (the menu's and the page's count)."""
    stmt = (
        sa.select(sa.func.count(Message.id))
        .join(Thread, Thread.id == Message.thread_id)
        .where(answered_by(actor), Message.read_at.is_(None), to_staff())
    )
    return db.session.scalar(stmt) or 0


def customer_choices(actor: Actor) -> list[tuple[uuid.UUID, str]]:
    """The customers of the actor's threads, by name, for the filter (at most 500)."""
    stmt = (
        sa.select(PlatformUser.id, PlatformUser.full_name)
        .where(PlatformUser.id.in_(sa.select(Thread.customer_id).where(inbox_scope(actor))))
        .order_by(PlatformUser.full_name, PlatformUser.id)
        .limit(MAX_CUSTOMER_CHOICES)
    )
    return [(uid, name or "") for uid, name in db.session.execute(stmt)]


def open_thread(actor: Actor, thread_id: int, *, lock: bool = False) -> Thread:
    """A thread in the actor's inbox; ``NotVisible`` for any other (no difference told)."""
    return thread_where(thread_id, inbox_scope(actor), lock=lock)


def answers(actor: Actor, thread: Thread) -> bool:
    """Whether ``actor`` is the staff party of ``thread``: its coach, or the desk on a SUPPORT thread."""
    if thread.context_type == ThreadContext.SUPPORT:
        return _is_desk(actor)
    return actor.is_coach and actor.user_id is not None and thread.coach_id == actor.user_id


def may_reply(actor: Actor, thread: Thread) -> bool:
    return answers(actor, thread) and thread.context_id != NOTES_CONTEXT and thread.customer_id is not None


def conversation(thread: Thread, *, limit: int = MAX_MESSAGES_SHOWN) -> tuple[list[Message], bool]:
    """The thread's latest messages oldest first, and whether older ones were left out."""
    stmt = (
        sa.select(Message)
        .where(Message.thread_id == thread.id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit + 1)
    )
    newest_first = list(db.session.scalars(stmt))
    return list(reversed(newest_first[:limit])), len(newest_first) > limit


def mark_read(actor: Actor, thread: Thread, *, now: dt.datetime | None = None) -> int:
    """Mark the thread's unread staff-side messages read, if the actor answers it; how many changed.

    Each row through the ORM so the audit trail has it; never earlier than the message was sent.
    """
    if not answers(actor, thread):
        return 0
    now = now or utcnow()
    stmt = (
        sa.select(Message)
        .join(Thread, Thread.id == Message.thread_id)
        .where(Message.thread_id == thread.id, Message.read_at.is_(None), to_staff())
    )
    changed = 0
    for message in db.session.scalars(stmt):
        message.read_at = max(now, message.sent_at)
        changed += 1
    db.session.flush()
    return changed


def reply(actor: Actor, thread_id: int, body: Any, *, now: dt.datetime | None = None) -> Message:
    """Post ``body`` as the signed-in person to the thread's customer (checked first; nothing written on refusal)."""
    text = check_body(body)
    thread = open_thread(actor, thread_id, lock=True)
    if thread.context_id == NOTES_CONTEXT:
        raise Refused(_("Automation notes threads are read-only."))
    if not may_reply(actor, thread) or actor.user_id is None:
        raise Refused(_("Only the thread's coach, or the support desk on a support thread, may reply here."))
    now = now or utcnow()
    message = append_message(
        db.session, thread, sender_id=actor.user_id, recipient_id=thread.customer_id, body=text, sent_at=now
    )
    mark_read(actor, thread, now=now)
    return message
