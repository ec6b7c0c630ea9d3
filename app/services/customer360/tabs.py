"""The 360 page's tabs: which exist, what each needs to be read, and the plan, sessions and billing tabs.

A tab is shown when the viewer may read every resource in ``requires``; parts of a tab drawn from
further resources (invoices and payments under subscriptions, messages under threads) are filled
only when those are readable too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.extensions import db
from app.models.commerce import Invoice, Payment, Product, Subscription
from app.models.identity import PlatformUser
from app.models.scheduling import ScheduledSession, SessionParticipant
from app.models.training import CustomerPlan, PlanItem, PlanStatus, Program
from app.policy.scope import Actor, scope_criteria
from app.services.customer360 import history, metrics, panels
from app.services.training.catalogue import catalogue_names
from app.services.training.plan_calendar import adherence
from app.services.training.schedule import customer_zones, local_today

PLANS_LIMIT = 10
ITEMS_LIMIT = 15
SESSIONS_LIMIT = 10
SUBSCRIPTIONS_LIMIT = 20
INVOICES_LIMIT = 30
PAYMENTS_LIMIT = 30


def plan_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """The current plan (latest ACTIVE, else latest not cancelled), 7/30/90-day adherence, next and last items."""
    rows = db.session.execute(
        sa.select(
            CustomerPlan.id,
            CustomerPlan.status,
            CustomerPlan.start_date,
            CustomerPlan.end_date,
            CustomerPlan.program_id,
            Program.title,
        )  # fmt: skip
        .join(Program, Program.id == CustomerPlan.program_id)
        .where(
            CustomerPlan.customer_id == cid,
            # Cancelled plans are left out: the predicate of the (customer, program, start) index.
            CustomerPlan.status != PlanStatus.CANCELLED,
            scope_criteria(CustomerPlan, actor),
        )
        .order_by((CustomerPlan.status == PlanStatus.ACTIVE).desc(), CustomerPlan.start_date.desc())
        .limit(PLANS_LIMIT)
    ).all()
    plans = [r._asdict() for r in rows]
    current = plans[0] if plans else None
    today = local_today(customer_zones(actor, [cid])[cid], now)
    result: dict[str, Any] = {
        "plans": plans,
        "current": current,
        "today": today,
        "adherence": adherence(actor, cid, now=now),
        "upcoming": [],
        "recent": [],
    }
    if current is None:
        return result
    base = sa.select(
        PlanItem.id, PlanItem.scheduled_date, PlanItem.item_type, PlanItem.item_id, PlanItem.completion_state
    ).where(PlanItem.plan_id == current["id"], scope_criteria(PlanItem, actor))
    upcoming = db.session.execute(
        base.where(PlanItem.scheduled_date >= today)
        .order_by(PlanItem.scheduled_date, PlanItem.order_index, PlanItem.id)
        .limit(ITEMS_LIMIT)
    ).all()
    recent = db.session.execute(
        base.where(PlanItem.scheduled_date < today)
        .order_by(PlanItem.scheduled_date.desc(), PlanItem.order_index, PlanItem.id)
        .limit(ITEMS_LIMIT)
    ).all()
    names = catalogue_names(actor, {(r.item_type, r.item_id) for r in (*upcoming, *recent)})
    for key, items in (("upcoming", upcoming), ("recent", recent)):
        result[key] = [{**r._asdict(), "name": names.get((r.item_type.value, r.item_id))} for r in items]
    return result


def sessions_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """The customer's next and last booked sessions (the roster rows in the viewer's scope)."""
    coach = orm.aliased(PlatformUser)
    base = (
        sa.select(
            SessionParticipant.id.label("participant_id"),
            SessionParticipant.attendance_status,
            SessionParticipant.cancelled_at,
            ScheduledSession.id,
            ScheduledSession.title,
            ScheduledSession.session_type,
            ScheduledSession.start_time,
            ScheduledSession.status,
            coach.full_name.label("coach_name"),
        )  # fmt: skip
        .join(ScheduledSession, ScheduledSession.id == SessionParticipant.session_id)
        .outerjoin(coach, coach.id == ScheduledSession.coach_id)
        .where(
            SessionParticipant.customer_id == cid,
            scope_criteria(SessionParticipant, actor),
            scope_criteria(ScheduledSession, actor),
        )
    )
    upcoming = db.session.execute(
        base.where(ScheduledSession.start_time >= now).order_by(ScheduledSession.start_time).limit(SESSIONS_LIMIT)
    ).all()
    past = db.session.execute(
        base.where(ScheduledSession.start_time < now).order_by(ScheduledSession.start_time.desc()).limit(SESSIONS_LIMIT)
    ).all()
    return {"upcoming": [r._asdict() for r in upcoming], "past": [r._asdict() for r in past]}


def billing_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """Subscriptions, then their latest invoices and those invoices' payments (each when readable)."""
    subs = db.session.execute(
        sa.select(
            Subscription.id,
            Subscription.status,
            Subscription.start_date,
            Subscription.current_period_end,
            Subscription.renewal_date,
            Product.name.label("product"),
        )  # fmt: skip
        .join(Product, Product.id == Subscription.product_id)
        .where(Subscription.customer_id == cid, scope_criteria(Subscription, actor))
        .order_by(Subscription.start_date.desc(), Subscription.id.desc())
        .limit(SUBSCRIPTIONS_LIMIT)
    ).all()
    result: dict[str, Any] = {"subscriptions": [r._asdict() for r in subs], "invoices": None, "payments": None}
    sub_ids = [r.id for r in subs]
    if "Invoices" in readable:
        invoices = (
            db.session.execute(
                sa.select(
                    Invoice.id,
                    Invoice.subscription_id,
                    Invoice.amount,
                    Invoice.currency,
                    Invoice.due_date,
                    Invoice.status,
                    Invoice.external_reference,
                    Invoice.amount_paid,
                )  # fmt: skip
                .where(Invoice.subscription_id.in_(sub_ids), scope_criteria(Invoice, actor))
                .order_by(Invoice.due_date.desc(), Invoice.id.desc())
                .limit(INVOICES_LIMIT)
            ).all()
            if sub_ids
            else []
        )
        result["invoices"] = [r._asdict() for r in invoices]
        if "Payments" in readable:
            invoice_ids = [r.id for r in invoices]
            payments = (
                db.session.execute(
                    sa.select(
                        Payment.id,
                        Payment.invoice_id,
                        Payment.amount,
                        Payment.currency,
                        Payment.status,
                        Payment.method,
                        Payment.created_at,
                        Payment.failure_reason,
                    )  # fmt: skip
                    .where(Payment.invoice_id.in_(invoice_ids), scope_criteria(Payment, actor))
                    .order_by(Payment.created_at.desc(), Payment.id.desc())
                    .limit(PAYMENTS_LIMIT)
                ).all()
                if invoice_ids
                else []
            )
            result["payments"] = [r._asdict() for r in payments]
    return result


TabFunction = Callable[[Actor, uuid.UUID, frozenset[str], dt.datetime], dict[str, Any]]


@dataclass(frozen=True)
class Tab:
    name: str
    requires: frozenset[str]
    build: TabFunction


def _tabs() -> tuple[Tab, ...]:
    return (
        Tab("plan", frozenset({"CustomerPlans", "PlanItems"}), plan_tab),
        Tab("sessions", frozenset({"ScheduledSessions", "SessionParticipants"}), sessions_tab),
        Tab("billing", frozenset({"Subscriptions"}), billing_tab),
        Tab("messages", frozenset({"Threads"}), panels.messages_tab),
        Tab("tickets", frozenset({"SupportTickets"}), panels.tickets_tab),
        Tab("consents", frozenset({"Consents"}), panels.consents_tab),
        Tab("badges", frozenset({"CustomerBadges"}), panels.badges_tab),
        Tab("metrics", frozenset({"ProgressMetrics"}), metrics.metrics_tab),
        Tab("audit", frozenset({"AuditLogs"}), history.audit_tab),
    )


TABS: dict[str, Tab] = {}


def _registry() -> dict[str, Tab]:
    if not TABS:
        TABS.update({tab.name: tab for tab in _tabs()})
    return TABS


def visible_tabs(readable: frozenset[str]) -> list[str]:
    """The tabs the viewer may open, in page order."""
    return [name for name, tab in _registry().items() if tab.requires <= readable]


def tab_data(
    name: str, actor: Actor, customer_id: uuid.UUID, readable: frozenset[str], *, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """One tab's data, or None for an unknown tab or one the viewer may not read."""
    tab = _registry().get(name)
    if tab is None or not tab.requires <= readable:
        return None
    return tab.build(actor, customer_id, readable, now or dt.datetime.now(dt.UTC))


def needed_resources() -> frozenset[str]:
    """Every resource a tab or a part of one reads: what the web asks the permission check about."""
    extra = {"Invoices", "Payments", "Messages", "EngagementEvents", "CustomerProfiles", "CoachAssignments", "Users"}
    return frozenset().union(*(tab.requires for tab in _registry().values())) | extra
