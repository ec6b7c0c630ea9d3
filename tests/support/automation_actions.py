"""People, rules and contexts for the automation actions' tests (and the engine's, should it want them)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.automation import AutomationRule, SegmentMembership, TriggerType
from app.models.compliance import AuditLog
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.engagement import Message, SupportTicket, Thread
from app.models.events import DomainEvent
from app.models.identity import PlatformUser, RoleCode, UserRole, UserStatus
from app.models.training import CustomerBadge, CustomerPlan
from app.services.accounts import ensure_platform_role
from app.services.automation.actions.base import ActionContext

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
# Rows an action may write: a dry run must leave every count as it was.
COUNTED = (Message, Thread, SupportTicket, CustomerBadge, CoachAssignment, SegmentMembership, CustomerPlan,
           PlatformUser, DomainEvent, AuditLog)  # fmt: skip


@dataclass
class People:
    customer_id: uuid.UUID
    coach_id: uuid.UUID
    assignment_id: int | None
    rule_id: int


def user(name: str, role: RoleCode, *, locale: str = "en") -> PlatformUser:
    row = PlatformUser(
        email=f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@coachdesk.test", full_name=name, locale=locale
    )
    db.session.add(row)
    db.session.flush()
    db.session.add(UserRole(user_id=row.id, role_id=ensure_platform_role(role).id))
    db.session.flush()
    return row


def rule(name: str = "Missed-workout nudge") -> AutomationRule:
    row = AutomationRule(
        name=name, trigger_type=TriggerType.EVENT, action_json=[{"type": "PAUSE_PLAN", "params": {}}], version=3
    )
    db.session.add(row)
    db.session.flush()
    return row


def people(*, locale: str = "en", zone: str = "Europe/Madrid", coach: bool = True) -> People:
    """A customer (with a profile in ``zone``) and a coach, assigned as primary unless ``coach`` is False."""
    customer = user("Lucia Garcia Lopez", RoleCode.CUSTOMER, locale=locale)
    db.session.add(CustomerProfile(user_id=customer.id, timezone=zone))
    trainer = user("Tom Baker", RoleCode.COACH, locale="de")
    assignment = None
    if coach:
        assignment = CoachAssignment(customer_id=customer.id, coach_id=trainer.id, assigned_at=NOW, is_primary=True)
        db.session.add(assignment)
    the_rule = rule()
    db.session.commit()
    return People(customer.id, trainer.id, assignment.id if assignment else None, the_rule.id)


def erase(user_id: uuid.UUID) -> None:
    """What a data-subject erasure leaves of a user (app.services.compliance.data_subject)."""
    row = db.session.get(PlatformUser, user_id)
    row.email, row.full_name, row.status = f"erased-{user_id.hex}@erased.invalid", "Erased user", UserStatus.DELETED
    db.session.commit()


def context(p: People | None, *, step: int = 0, event_type: str | None = None, **payload: Any) -> ActionContext:
    return ActionContext(
        rule_id=p.rule_id if p else 1,
        rule_name="Missed-workout nudge",
        rule_version=3,
        execution_id=41,
        idempotency_key=f"rule-{p.rule_id if p else 1}:event-7",
        step=step,
        customer_id=p.customer_id if p else None,
        event_type=event_type,
        event_id=7 if event_type else None,
        payload=payload,
        now=NOW,
    )


def counts() -> dict[str, int]:
    return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in COUNTED}


def audited(table: str, resource_id: Any) -> list[AuditLog]:
    stmt = (
        sa.select(AuditLog)
        .where(AuditLog.resource_type == table, AuditLog.resource_id == str(resource_id))
        .order_by(AuditLog.id)
    )
    return list(db.session.scalars(stmt))
