"""The 360 page's audit tab: the audit rows about this customer's own records.

Audit rows name their record as (table, primary key text). The customer's records are collected
first (the newest ``KEYS_PER_TABLE`` of each table, each an indexed lookup on the customer's id),
then one query reads the newest audit rows for those keys through the (resource_type, resource_id)
index, so a customer with years of history costs the same as a new one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.extensions import db
from app.models.commerce import Subscription
from app.models.compliance import AuditLog
from app.models.customers import Assessment, CoachAssignment
from app.models.engagement import SupportTicket, Thread
from app.models.identity import Consent, PlatformUser, UserRole
from app.models.training import CustomerPlan
from app.policy.scope import Actor, scope_criteria

AUDIT_LIMIT = 50
KEYS_PER_TABLE = 100

# table -> (the column naming the customer, the primary key)
OWNED: dict[str, tuple[Any, Any]] = {
    "user_roles": (UserRole.user_id, UserRole.id),
    "consents": (Consent.user_id, Consent.id),
    "assessments": (Assessment.user_id, Assessment.id),
    "coach_assignments": (CoachAssignment.customer_id, CoachAssignment.id),
    "subscriptions": (Subscription.customer_id, Subscription.id),
    "customer_plans": (CustomerPlan.customer_id, CustomerPlan.id),
    "support_tickets": (SupportTicket.requester_id, SupportTicket.id),
    "threads": (Thread.customer_id, Thread.id),
}


def record_keys(cid: uuid.UUID) -> dict[str, list[str]]:
    """table -> the primary keys (as audit rows spell them) of the customer's records in it."""
    keys = {"users": [str(cid)], "customer_profiles": [str(cid)]}
    for table, (owner, newest) in OWNED.items():
        ids = db.session.scalars(sa.select(newest).where(owner == cid).order_by(newest.desc()).limit(KEYS_PER_TABLE))
        found = [str(i) for i in ids]
        if found:
            keys[table] = found
    return keys


def audit_tab(actor: Actor, cid: uuid.UUID, readable: frozenset[str], now: dt.datetime) -> dict[str, Any]:
    """The newest audit rows about the customer's profile, consents, roles, assignments, billing, plans, tickets."""
    keys = record_keys(cid)
    about = sa.or_(
        *(sa.and_(AuditLog.resource_type == table, AuditLog.resource_id.in_(ids)) for table, ids in keys.items())
    )
    actor_user = orm.aliased(PlatformUser)
    rows = db.session.execute(
        sa.select(
            AuditLog.id,
            AuditLog.action,
            AuditLog.resource_type,
            AuditLog.resource_id,
            AuditLog.created_at,
            AuditLog.actor_id,
            actor_user.full_name.label("actor_name"),
        )  # fmt: skip
        .outerjoin(actor_user, actor_user.id == AuditLog.actor_id)
        .where(about, scope_criteria(AuditLog, actor))
        .order_by(AuditLog.id.desc())
        .limit(AUDIT_LIMIT)
    ).all()
    return {"entries": [r._asdict() for r in rows], "tables": sorted(keys)}
