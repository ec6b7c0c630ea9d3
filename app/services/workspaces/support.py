"""The support desk's workspace: open tickets by SLA, recent failed payments, waitlists near start."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.commerce import Payment, PaymentStatus
from app.models.engagement import SupportTicket, TicketStatus
from app.models.scheduling import ScheduledSession, SessionStatus, WaitlistEntry
from app.services.workspaces import ROW_LIMIT

OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING)
FAILED_PAYMENT_DAYS = 14
WAITLIST_HOURS = 48


@dataclass
class SupportWorkspace:
    tickets: list[SupportTicket]
    open_tickets: int
    overdue_tickets: int
    failed_payments: list[Payment]
    waitlists: list[tuple[ScheduledSession, int]]
    now: dt.datetime

    def overdue(self, ticket: SupportTicket) -> bool:
        return ticket.sla_due_at is not None and ticket.sla_due_at < self.now


def open_tickets(session: Session, now: dt.datetime) -> tuple[list[SupportTicket], int, int]:
    """The first open tickets by SLA due time (none last), and the open and overdue counts."""
    is_open = SupportTicket.status.in_(OPEN_STATUSES)
    stmt = (
        sa.select(SupportTicket)
        .where(is_open)
        .order_by(SupportTicket.sla_due_at.asc().nulls_last(), SupportTicket.id)
        .limit(ROW_LIMIT)
    )
    overdue = sa.case((SupportTicket.sla_due_at < now, 1), else_=0)
    counts = sa.select(sa.func.count(SupportTicket.id), sa.func.coalesce(sa.func.sum(overdue), 0)).where(is_open)
    total, late = session.execute(counts).one()
    return list(session.scalars(stmt)), int(total), int(late)


def failed_payments(session: Session, now: dt.datetime) -> list[Payment]:
    stmt = (
        sa.select(Payment)
        .where(
            Payment.status == PaymentStatus.FAILED,
            Payment.created_at >= now - dt.timedelta(days=FAILED_PAYMENT_DAYS),
        )
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(ROW_LIMIT)
    )
    return list(session.scalars(stmt).unique())


def waitlists_near_start(session: Session, now: dt.datetime) -> list[tuple[ScheduledSession, int]]:
    """Sessions starting within two days that people are waiting for, with how many wait."""
    waiting = (
        sa.select(WaitlistEntry.session_id, sa.func.count(WaitlistEntry.id).label("waiting"))
        .join(ScheduledSession, ScheduledSession.id == WaitlistEntry.session_id)
        .where(
            WaitlistEntry.promoted_at.is_(None),
            ScheduledSession.start_time >= now,
            ScheduledSession.start_time < now + dt.timedelta(hours=WAITLIST_HOURS),
            ScheduledSession.status != SessionStatus.CANCELLED,
        )
        .group_by(WaitlistEntry.session_id)
        .subquery()
    )
    stmt = (
        sa.select(ScheduledSession, waiting.c.waiting)
        .join(waiting, waiting.c.session_id == ScheduledSession.id)
        .order_by(ScheduledSession.start_time, ScheduledSession.id)
        .limit(ROW_LIMIT)
    )
    return [(s, int(n)) for s, n in session.execute(stmt).unique()]


def build(session: Session, now: dt.datetime) -> SupportWorkspace:
    tickets, total, late = open_tickets(session, now)
    return SupportWorkspace(
        tickets=tickets,
        open_tickets=total,
        overdue_tickets=late,
        failed_payments=failed_payments(session, now),
        waitlists=waitlists_near_start(session, now),
        now=now,
    )
