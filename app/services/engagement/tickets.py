"""Support tickets: opened for a person with a priority and an SLA, read by the person who opened them.

The SLA is due ``SLA_BY_PRIORITY`` after opening (the support desk's targets: urgent 4 hours, high
one day, normal three days, low a week) unless the caller sets the due time (automation's
CREATE_TICKET counts its rule's hours from the occurrence). A ticket's text, when given, is the
first message of its SUPPORT thread (``context_id`` = the ticket id), between the requester and
the desk: a ticket has no body column, and the conversation about it continues in that thread.
Opening a ticket announces ``support.ticket_created`` unless the caller asks not to (automation
does not, so a rule on that event cannot feed itself). The caller commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.base import utcnow
from app.models.engagement import SupportTicket, Thread, ThreadContext, TicketPriority, TicketStatus
from app.services import events
from app.services.engagement.errors import EngagementError, NotVisible
from app.services.engagement.messages import append_message, check_body

SUBJECT_LIMIT = 300  # support_tickets.subject
SLA_BY_PRIORITY: dict[TicketPriority, dt.timedelta] = {
    TicketPriority.URGENT: dt.timedelta(hours=4),
    TicketPriority.HIGH: dt.timedelta(hours=24),
    TicketPriority.NORMAL: dt.timedelta(hours=72),
    TicketPriority.LOW: dt.timedelta(days=7),
}


def check_subject(subject: Any) -> str:
    """One line of at most 300 characters: runs of whitespace (line breaks too) become one space."""
    if not isinstance(subject, str):
        raise EngagementError(_("subject must be text."), field="subject")
    text = " ".join(subject.split())
    if not text:
        raise EngagementError(_("subject must not be empty."), field="subject")
    if len(text) > SUBJECT_LIMIT:
        raise EngagementError(_("subject is longer than %(limit)s characters.", limit=SUBJECT_LIMIT), field="subject")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise EngagementError(_("subject contains control characters."), field="subject")
    return text


def check_priority(priority: Any) -> TicketPriority:
    if priority is None:
        return TicketPriority.NORMAL
    if isinstance(priority, str) and priority in TicketPriority.__members__:
        return TicketPriority(priority)
    names = ", ".join(TicketPriority.__members__)
    raise EngagementError(_("priority must be one of: %(names)s.", names=names), field="priority")


def open_ticket(
    requester_id: uuid.UUID,
    subject: Any,
    *,
    body: Any = None,
    priority: Any = None,
    sla_due_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    announce: bool = True,
) -> SupportTicket:
    """Open a ticket for ``requester_id`` (checked input; the SLA from its priority unless given). Flushes."""
    title = check_subject(subject)
    level = check_priority(priority)
    text = None if body is None else check_body(body)
    now = now or utcnow()
    ticket = SupportTicket(
        requester_id=requester_id, subject=title, priority=level, status=TicketStatus.OPEN,
        sla_due_at=sla_due_at or now + SLA_BY_PRIORITY[level], created_at=now,
    )  # fmt: skip
    db.session.add(ticket)
    db.session.flush()
    if text is not None:
        thread = Thread(
            subject=title, context_type=ThreadContext.SUPPORT, context_id=str(ticket.id),
            customer_id=requester_id, coach_id=None, created_at=now,
        )  # fmt: skip
        db.session.add(thread)
        db.session.flush()
        append_message(db.session, thread, sender_id=requester_id, recipient_id=None, body=text, sent_at=now)
    if announce:
        events.emit(
            db.session, events.SUPPORT_TICKET_CREATED, customer_id=requester_id, ticket_id=ticket.id,
            priority=ticket.priority, status=ticket.status, sla_due_at=ticket.sla_due_at,
        )  # fmt: skip
    return ticket


def tickets_of(requester_id: uuid.UUID) -> sa.Select:
    """The person's own tickets, newest first (for the caller to page)."""
    return (
        sa.select(SupportTicket)
        .where(SupportTicket.requester_id == requester_id)
        .order_by(SupportTicket.created_at.desc(), SupportTicket.id.desc())
    )


def get_ticket(requester_id: uuid.UUID, ticket_id: int) -> SupportTicket:
    """One of the person's own tickets; ``NotVisible`` for any other (no difference told)."""
    ticket = db.session.scalars(
        sa.select(SupportTicket).where(SupportTicket.id == ticket_id, SupportTicket.requester_id == requester_id)
    ).first()
    if ticket is None:
        raise NotVisible(_("No such ticket."))
    return ticket
