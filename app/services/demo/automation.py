"""Demo automation: eight rules a coaching business runs, and their executions made by the engine.

The rules are saved through the rule service, like the editor saves them. Their executions are
not inserted: the last weeks of the generated history (bookings, no-shows, waitlist promotions,
failed payments, missed and completed plan items, new and cancelled subscriptions) are written
to the outbox as the domain events they would have been, and once the demo is committed
``replay`` saves the rules, dispatches the events and runs the engine at each occurrence's own time, so every message,
ticket, badge and run-log row comes from the real engine.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.automation import RuleStatus
from app.models.commerce import Invoice, Payment, PaymentStatus, Subscription
from app.models.events import DomainEvent
from app.models.scheduling import AttendanceStatus, ParticipantRole, ScheduledSession, SessionParticipant, WaitlistEntry
from app.models.training import CompletionState, CustomerPlan, PlanItem
from app.services import events
from app.services.automation import engine, rules
from app.services.automation.inactivity import detect_inactive
from app.services.demo.base import Ctx, insert_rows
from app.services.events import catalogue
from app.services.events.dispatch import dispatch_pending
from app.services.events.handlers import handlers

WINDOW_DAYS = 21  # the history replayed through the engine
PER_TYPE = 400  # at most this many events of one type (a demo, not a load test)
QUIET = {"quiet_start": "21:00", "quiet_end": "08:00"}

RULES: tuple[dict[str, Any], ...] = (
    {"name": "Welcome message", "trigger_type": "EVENT", "trigger_event": events.SUBSCRIPTION_CREATED,
     "frequency": "ONCE_PER_CUSTOMER", **QUIET,
     "actions": [{"type": "SEND_MESSAGE", "params": {"template_key": "welcome"}}]},
    {"name": "Missed-workout nudge", "trigger_type": "EVENT", "trigger_event": events.PLAN_ITEM_MISSED,
     "condition": {"field": "item_type", "op": "eq", "value": "EXERCISE"},
     "frequency": "ONCE_PER_PERIOD", "frequency_days": 3, **QUIET,
     "actions": [{"type": "SEND_MESSAGE", "params": {"template_key": "missed_workout"}}]},
    {"name": "Failed-payment ticket", "trigger_type": "PAYMENT_FAILED", "trigger_event": events.PAYMENT_FAILED,
     "frequency": "ONCE_PER_PERIOD", "frequency_days": 7,
     "actions": [
         {"type": "CREATE_TICKET", "params": {"subject": "Payment of {amount} failed",
                                              "priority": "HIGH", "sla_hours": 24}},
         {"type": "SEND_MESSAGE", "params": {"template_key": "payment_failed"}},
     ]},
    {"name": "Streak badge", "trigger_type": "EVENT", "trigger_event": events.PLAN_ITEM_COMPLETED,
     "frequency": "ONCE_PER_CUSTOMER",
     "actions": [{"type": "AWARD_BADGE", "params": {"badge": "FIRST_WORKOUT"}}]},
    {"name": "Inactivity check-in", "trigger_type": "INACTIVITY", "inactivity_days": 14,
     "condition": {"field": "has_active_plan", "op": "eq", "value": True}, **QUIET,
     "actions": [{"type": "NOTIFY_COACH", "params": {"template": "{first_name} has been inactive for two weeks."}},
                 {"type": "SEND_MESSAGE", "params": {"template_key": "checkin"}}]},
    {"name": "Waitlist-promotion notice", "trigger_type": "EVENT", "trigger_event": events.SESSION_WAITLIST_PROMOTED,
     "actions": [{"type": "SEND_MESSAGE", "params": {"template_key": "waitlist_promoted"}}]},
    {"name": "No-show follow-up", "trigger_type": "EVENT", "trigger_event": events.SESSION_NO_SHOW,
     "frequency": "ONCE_PER_PERIOD", "frequency_days": 7,
     "actions": [{"type": "NOTIFY_COACH", "params": {"template": "{first_name} missed a session they had booked."}}]},
    {"name": "Churn-risk coach alert", "trigger_type": "EVENT", "trigger_event": events.SUBSCRIPTION_CANCELLED,
     "actions": [{"type": "NOTIFY_COACH", "params": {"template": "{first_name} cancelled their subscription."}},
                 {"type": "ADD_TO_SEGMENT", "params": {"segment": "churn-risk"}}]},
)  # fmt: skip


def seed_rules(ctx: Ctx) -> None:
    """Write the recent history's events to the outbox, undispatched (``replay`` saves the rules and runs them)."""
    ctx.extra["automation_author"] = ctx.admins[0].id if ctx.admins else None
    since = ctx.now - dt.timedelta(days=WINDOW_DAYS)
    rows = sorted(_history(since, ctx.now), key=lambda r: r["occurred_at"])
    for row in rows:
        problems = catalogue.CATALOGUE[row["event_type"]].errors(row["payload"])
        if problems:  # a generator bug, not a demo to ship
            raise ValueError(f"{row['event_type']}: {problems}")
    insert_rows(DomainEvent, rows)
    ctx.extra["automation_events"] = len(rows)


def _event(kind: str, customer_id: uuid.UUID, at: dt.datetime, **payload: Any) -> dict[str, Any]:
    return {"event_type": kind, "customer_id": customer_id, "occurred_at": at, "payload": events.plain(payload)}


def _limited(stmt: sa.Select) -> list[Any]:
    return list(db.session.execute(stmt.limit(PER_TYPE)))


def _history(since: dt.datetime, now: dt.datetime) -> Iterator[dict[str, Any]]:
    sp, ss = SessionParticipant, ScheduledSession
    for r in _limited(sa.select(sp.id, sp.session_id, sp.customer_id, ss.end_time).join(ss, ss.id == sp.session_id)
                      .where(sp.attendance_status == AttendanceStatus.NO_SHOW, ss.end_time.between(since, now))
                      .order_by(ss.end_time)):  # fmt: skip
        yield _event(events.SESSION_NO_SHOW, r.customer_id, r.end_time, session_id=r.session_id, participant_id=r.id)
    w = WaitlistEntry
    for r in _limited(sa.select(w.id, w.session_id, w.customer_id, w.promoted_at, sp.id.label("participant"))
                      .join(sp, sa.and_(sp.session_id == w.session_id, sp.customer_id == w.customer_id))
                      .where(w.promoted_at.between(since, now), sp.role == ParticipantRole.PRIMARY)
                      .order_by(w.promoted_at)):  # fmt: skip
        yield _event(events.SESSION_WAITLIST_PROMOTED, r.customer_id, r.promoted_at, session_id=r.session_id,
                     participant_id=r.participant, waitlist_entry_id=r.id)  # fmt: skip
    for r in _limited(sa.select(Payment.id, Payment.invoice_id, Payment.amount, Payment.currency, Payment.method,
                                Invoice.due_date, Subscription.customer_id)
                      .join(Invoice, Invoice.id == Payment.invoice_id)
                      .join(Subscription, Subscription.id == Invoice.subscription_id)
                      .where(Payment.status == PaymentStatus.FAILED, Invoice.due_date >= since.date(),
                             Invoice.due_date <= now.date())
                      .order_by(Invoice.due_date)):  # fmt: skip
        at = dt.datetime.combine(r.due_date, dt.time(6, 0), tzinfo=dt.UTC)
        yield _event(events.PAYMENT_FAILED, r.customer_id, at, payment_id=r.id, invoice_id=r.invoice_id,
                     amount=r.amount, currency=r.currency, method=r.method)  # fmt: skip
    for kind, where in ((events.PLAN_ITEM_COMPLETED, PlanItem.completion_state == CompletionState.COMPLETED),
                        (events.PLAN_ITEM_MISSED, PlanItem.completion_state != CompletionState.COMPLETED)):  # fmt: skip
        stmt = (
            sa.select(PlanItem.id, PlanItem.plan_id, PlanItem.item_type, PlanItem.item_id, PlanItem.scheduled_date,
                      CustomerPlan.customer_id)
            .join(CustomerPlan, CustomerPlan.id == PlanItem.plan_id)
            .where(where, PlanItem.scheduled_date >= since.date(), PlanItem.scheduled_date < now.date())
            .order_by(PlanItem.scheduled_date, PlanItem.id)
        )  # fmt: skip
        for r in _limited(stmt):
            at = dt.datetime.combine(r.scheduled_date + dt.timedelta(days=1), dt.time(3, 0), tzinfo=dt.UTC)
            yield _event(kind, r.customer_id, min(at, now), plan_id=r.plan_id, plan_item_id=r.id,
                         item_type=r.item_type, item_id=r.item_id, scheduled_date=r.scheduled_date)  # fmt: skip
    s = Subscription
    for r in _limited(sa.select(s.id, s.customer_id, s.product_id, s.status, s.start_date)
                      .where(s.start_date >= since.date(), s.start_date <= now.date())
                      .order_by(s.start_date)):  # fmt: skip
        at = dt.datetime.combine(r.start_date, dt.time(10, 0), tzinfo=dt.UTC)
        yield _event(events.SUBSCRIPTION_CREATED, r.customer_id, at, subscription_id=r.id, product_id=r.product_id,
                     status=r.status, start_date=r.start_date)  # fmt: skip
    for r in _limited(sa.select(s.id, s.customer_id, s.product_id, s.end_date)
                      .where(s.status == "CANCELLED", s.end_date >= since.date(), s.end_date <= now.date())
                      .order_by(s.end_date)):  # fmt: skip
        at = dt.datetime.combine(r.end_date, dt.time(12, 0), tzinfo=dt.UTC)
        yield _event(events.SUBSCRIPTION_CANCELLED, r.customer_id, at, subscription_id=r.id, product_id=r.product_id,
                     end_date=r.end_date)  # fmt: skip


def _at_its_time(execution: Any) -> dt.datetime:
    """Replay clock: a few minutes after the occurrence, or when quiet hours ended."""
    moment = execution.triggered_at + dt.timedelta(minutes=5)
    return max(moment, execution.next_attempt_at or moment)


def replay(author: uuid.UUID | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Save and activate the rules, dispatch the demo's outbox to them and run the engine at each
    occurrence's time (commits). After the bulk history, so its audit rows come after it too."""
    for spec in RULES:
        rule = rules.save(db.session, rules.RuleDraft(**spec), actor_id=author)
        rules.transition(db.session, rule, RuleStatus.ACTIVE)
    db.session.commit()
    dispatched = dispatch_pending(db.session, handlers(), commit_batch=lambda r: db.session.commit(), now=now)
    db.session.commit()
    detect_inactive(db.session, now=now)  # who has gone quiet for the inactivity rule, as of the demo's now
    db.session.commit()
    result = engine.run_due(db.session, clock=_at_its_time)
    return {"events": dispatched.dispatched, "executions": result.claimed, "succeeded": result.succeeded,
            "failed": result.failed}  # fmt: skip
