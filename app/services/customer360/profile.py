"""The 360 page's header: who the customer is, their coaches, and the risk flags worth acting on.

A flag is computed only from a resource the viewer may read (a coach sees no past-due flag: coaches
hold no invoice grant), so the header never leaks what the panels would hide.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.extensions import db
from app.models.analytics import EngagementEvent
from app.models.commerce import Invoice, InvoiceStatus, Subscription
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.engagement import SupportTicket, TicketPriority, TicketStatus
from app.models.identity import PlatformUser
from app.policy.scope import Actor, scope_criteria
from app.services.training.plan_calendar import adherence
from app.services.training.schedule import local_today, zone

INACTIVE_DAYS = 14
LOW_ADHERENCE = 0.5  # completed / due over 30 days below this, with at least MIN_DUE items due
MIN_DUE = 3
OPEN_TICKET = (TicketStatus.OPEN, TicketStatus.PENDING)


@dataclass(frozen=True)
class RiskFlag:
    """One reason to look at this customer now; ``code`` picks the label, ``tab`` the panel that explains it."""

    code: str  # past_due | inactive | low_adherence | urgent_ticket
    tab: str
    count: int | None = None
    since: dt.date | dt.datetime | None = None
    rate: float | None = None


def find_customer(actor: Actor, raw_id: str) -> PlatformUser | None:
    """The platform user ``raw_id`` names, if the actor's row scope reaches them (a coach: their customers)."""
    try:
        customer_id = uuid.UUID(str(raw_id))
    except ValueError:
        return None
    stmt = sa.select(PlatformUser).where(PlatformUser.id == customer_id, scope_criteria(PlatformUser, actor))
    return db.session.scalars(stmt).first()


def header(
    actor: Actor, customer: PlatformUser, readable: frozenset[str], *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Profile, coaches and risk flags: at most six indexed queries."""
    now = now or dt.datetime.now(dt.UTC)
    cid = customer.id
    profile = db.session.execute(
        sa.select(
            CustomerProfile.timezone, CustomerProfile.gender, CustomerProfile.date_of_birth, CustomerProfile.risk_flags
        ).where(CustomerProfile.user_id == cid, scope_criteria(CustomerProfile, actor))
    ).first()
    tz = zone(profile.timezone if profile else None)
    today = local_today(tz, now)
    result: dict[str, Any] = {
        "customer": customer,
        "profile": profile if "CustomerProfiles" in readable else None,
        "timezone": tz.key,
        "coaches": [],
        "flags": [],
    }
    if "CoachAssignments" in readable:
        coach = orm.aliased(PlatformUser)
        rows = db.session.execute(
            sa.select(CoachAssignment.id, CoachAssignment.is_primary, coach.id, coach.full_name)
            .join(coach, coach.id == CoachAssignment.coach_id)
            .where(CoachAssignment.customer_id == cid, scope_criteria(CoachAssignment, actor))
            .order_by(CoachAssignment.is_primary.desc(), CoachAssignment.assigned_at.desc())
            .limit(5)
        )
        result["coaches"] = [
            {"assignment_id": a_id, "primary": primary, "id": c_id, "name": name} for a_id, primary, c_id, name in rows
        ]
    result["flags"] = risk_flags(actor, cid, readable, today=today, now=now)
    return result


def risk_flags(
    actor: Actor, cid: uuid.UUID, readable: frozenset[str], *, today: dt.date, now: dt.datetime
) -> list[RiskFlag]:
    """Past-due invoices, no activity for 14 days, low 30-day adherence, open urgent tickets."""
    flags: list[RiskFlag] = []
    if {"Invoices", "Subscriptions"} <= readable:
        count, oldest = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(Invoice.due_date))
            .join(Subscription, Subscription.id == Invoice.subscription_id)
            .where(
                Subscription.customer_id == cid,
                Invoice.status == InvoiceStatus.OPEN,
                Invoice.due_date < today,
                scope_criteria(Invoice, actor),
            )
        ).one()
        if count:
            flags.append(RiskFlag("past_due", "billing", count=count, since=oldest))
    if "EngagementEvents" in readable:
        last = db.session.scalar(
            sa.select(EngagementEvent.occurred_at)
            .where(EngagementEvent.customer_id == cid, scope_criteria(EngagementEvent, actor))
            .order_by(EngagementEvent.occurred_at.desc())
            .limit(1)
        )
        if last is None or last < now - dt.timedelta(days=INACTIVE_DAYS):
            flags.append(RiskFlag("inactive", "plan", since=last))
    if "PlanItems" in readable:
        month = adherence(actor, cid, now=now)[30]
        if month["due"] >= MIN_DUE and month["rate"] is not None and month["rate"] < LOW_ADHERENCE:
            flags.append(RiskFlag("low_adherence", "plan", count=month["due"], rate=month["rate"]))
    if "SupportTickets" in readable:
        urgent = db.session.scalar(
            sa.select(sa.func.count()).where(
                SupportTicket.requester_id == cid,
                SupportTicket.priority == TicketPriority.URGENT,
                SupportTicket.status.in_(OPEN_TICKET),
                scope_criteria(SupportTicket, actor),
            )
        )
        if urgent:
            flags.append(RiskFlag("urgent_ticket", "tickets", count=urgent))
    return flags
