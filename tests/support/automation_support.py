"""Rules, customers and events for the automation tests: saved and activated through the rule service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.automation import AutomationExecution, AutomationRule, RuleStatus
from app.models.training import Badge
from app.services import events
from app.services.automation import rules
from app.services.events.dispatch import dispatch_pending
from app.services.events.handlers import handlers


def make_rule(name: str = "Rule", *, activate: bool = True, **draft: Any) -> AutomationRule:
    """A rule saved from a draft (session.booked, one ADD_TO_SEGMENT action unless told) and activated."""
    fields: dict[str, Any] = {
        "name": name,
        "trigger_type": "EVENT",
        "trigger_event": events.SESSION_BOOKED,
        "actions": [{"type": "ADD_TO_SEGMENT", "params": {"segment": "booked"}}],
    }
    fields.update(draft)
    rule = rules.save(db.session, rules.RuleDraft(**fields), actor_id=None)
    if activate:
        rules.transition(db.session, rule, RuleStatus.ACTIVE)
    db.session.commit()
    return rule


def make_badge(code: str = "FIRST_CLASS") -> Badge:
    badge = Badge(code=code, name=code.replace("_", " ").title())
    db.session.add(badge)
    db.session.commit()
    return badge


def book(customer_id: uuid.UUID, session_id: int = 7, at: dt.datetime | None = None) -> int:
    """Emit one session.booked event for the customer, committed; its id."""
    event = events.emit(db.session, events.SESSION_BOOKED, customer_id=customer_id, session_id=session_id)
    if at is not None:
        event.occurred_at = at
    db.session.commit()
    return event.id


def dispatch() -> int:
    """Dispatch every waiting event to the app's handlers (the engine's among them), committing each batch."""
    result = dispatch_pending(db.session, handlers(), commit_batch=lambda r: db.session.commit())
    db.session.commit()
    return result.dispatched


def executions(rule_id: int | None = None) -> list[AutomationExecution]:
    db.session.expire_all()
    stmt = sa.select(AutomationExecution).order_by(AutomationExecution.id)
    if rule_id is not None:
        stmt = stmt.where(AutomationExecution.rule_id == rule_id)
    return list(db.session.scalars(stmt))
