"""The 360 page's messages, tickets, consents and badges tabs: one or two LIMITed queries each."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.extensions import db
from app.models.engagement import Message, SupportTicket, Thread, TicketStatus
from app.models.identity import Consent, PlatformUser
from app.models.training import Badge, CustomerBadge
from app.policy.scope import Actor, scope_criteria

THREADS_LIMIT = 20
MESSAGES_LIMIT = 10
SNIPPET = 140
TICKETS_LIMIT = 20
CONSENTS_LIMIT = 50
BADGES_LIMIT = 50


def messages_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """The customer's threads (a coach: their own with this customer), newest first, and the last messages."""
    threads = db.session.execute(
        sa.select(Thread.id, Thread.subject, Thread.context_type, Thread.last_message_at, Thread.created_at)
        .where(Thread.customer_id == cid, scope_criteria(Thread, actor))
        .order_by(sa.func.coalesce(Thread.last_message_at, Thread.created_at).desc(), Thread.id.desc())
        .limit(THREADS_LIMIT)
    ).all()
    result: dict[str, Any] = {"threads": [r._asdict() for r in threads], "messages": None}
    if "Messages" in readable:
        thread_ids = [r.id for r in threads]
        sender = orm.aliased(PlatformUser)
        rows = (
            db.session.execute(
                sa.select(
                    Message.id,
                    Message.thread_id,
                    Message.sent_at,
                    Message.read_at,
                    sa.func.substr(Message.body, 1, SNIPPET).label("snippet"),
                    sender.full_name.label("sender"),
                    (Message.sender_id == cid).label("from_customer"),
                )  # fmt: skip
                .join(sender, sender.id == Message.sender_id)
                .where(Message.thread_id.in_(thread_ids), scope_criteria(Message, actor))
                .order_by(Message.sent_at.desc(), Message.id.desc())
                .limit(MESSAGES_LIMIT)
            ).all()
            if thread_ids
            else []
        )
        subjects = {r.id: r.subject for r in threads}
        result["messages"] = [{**r._asdict(), "subject": subjects.get(r.thread_id)} for r in rows]
    return result


def tickets_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """The customer's support tickets, open ones first, each with its SLA state."""
    is_open = SupportTicket.status.in_((TicketStatus.OPEN, TicketStatus.PENDING))
    rows = db.session.execute(
        sa.select(
            SupportTicket.id,
            SupportTicket.subject,
            SupportTicket.priority,
            SupportTicket.status,
            SupportTicket.sla_due_at,
            SupportTicket.created_at,
            SupportTicket.closed_at,
        )  # fmt: skip
        .where(SupportTicket.requester_id == cid, scope_criteria(SupportTicket, actor))
        .order_by(is_open.desc(), SupportTicket.created_at.desc(), SupportTicket.id.desc())
        .limit(TICKETS_LIMIT)
    ).all()
    tickets = []
    for r in rows:
        open_ = r.status in (TicketStatus.OPEN, TicketStatus.PENDING)
        tickets.append({**r._asdict(), "open": open_, "overdue": bool(open_ and r.sla_due_at and r.sla_due_at < now)})
    return {"tickets": tickets}


def consents_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """Consents given and withdrawn, newest first."""
    rows = db.session.execute(
        sa.select(Consent.id, Consent.consent_type, Consent.granted_at, Consent.revoked_at)
        .where(Consent.user_id == cid, scope_criteria(Consent, actor))
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
        .limit(CONSENTS_LIMIT)
    ).all()
    return {"consents": [{**r._asdict(), "active": r.revoked_at is None} for r in rows]}


def badges_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """Badges awarded, newest first."""
    rows = db.session.execute(
        sa.select(CustomerBadge.id, CustomerBadge.awarded_at, Badge.id.label("badge_id"), Badge.name, Badge.code)
        .join(Badge, Badge.id == CustomerBadge.badge_id)
        .where(CustomerBadge.customer_id == cid, scope_criteria(CustomerBadge, actor))
        .order_by(CustomerBadge.awarded_at.desc(), CustomerBadge.id.desc())
        .limit(BADGES_LIMIT)
    ).all()
    return {"badges": [r._asdict() for r in rows]}
