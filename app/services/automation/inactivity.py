"""INACTIVITY rules: act for customers with no engagement event for N days, once per spell.

A customer is inactive for a rule when their latest engagement event is older than the rule's
``inactivity_days`` (or, with none at all, when they signed up longer ago than that) and the
rule's condition matches them. ``inactive_query`` finds them in one SELECT per rule: the latest
event is one backward step of the ``(customer_id, occurred_at)`` index of
``engagement_events`` per customer, never a load of customers or events into Python.

One spell of inactivity acts once: the execution is keyed by the day of the last activity
(``idle:<YYYY-MM-DD>:<customer>``, or ``idle:never:<customer>``), so the hourly check finds the same spell again and
records nothing new, while a customer who comes back and drifts away again starts a new spell
and is acted for again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.automation import AutomationRule, TriggerType
from app.models.base import utcnow
from app.models.identity import PlatformUser
from app.policy.scope import coach_customers
from app.services.automation.conditions import CompiledCondition
from app.services.automation.matching import Occurrence, active_rules_of, record, rule_view
from app.services.automation.segments import acting_customers, last_activity, segment_columns, segment_condition


def inactive_query(
    condition: CompiledCondition, days: int, now: dt.datetime, *, coach_id: uuid.UUID | None = None
) -> sa.Select[Any]:
    """(customer id, latest activity or NULL) of each customer idle over ``days`` days whom ``condition`` matches."""
    last = last_activity()
    cutoff = now - dt.timedelta(days=days)
    stmt = sa.select(PlatformUser.id, last.label("last_activity")).where(
        acting_customers(),
        sa.func.coalesce(last, PlatformUser.created_at) < cutoff,  # no activity: idle since signing up
        condition.to_sql(segment_columns(now)),
    )
    if coach_id is not None:
        stmt = stmt.where(PlatformUser.id.in_(coach_customers(coach_id)))
    return stmt


def spell_key(last: dt.datetime | None, customer_id: uuid.UUID) -> str:
    """The occurrence a spell of inactivity is: the day it began (UTC), or ``never`` for no activity at
    all, and whose spell it is (``matching.record`` keys an execution by rule and occurrence only)."""
    day = f"{last.astimezone(dt.UTC):%Y-%m-%d}" if last is not None else "never"
    return f"idle:{day}:{customer_id}"


def _rules(db: Session) -> list[AutomationRule]:
    return active_rules_of(db, TriggerType.INACTIVITY)


def detect_rule(db: Session, rule: AutomationRule, now: dt.datetime) -> int:
    """Record an execution for every customer newly idle for ``rule``; how many (flushes, no commit)."""
    if not rule.inactivity_days:
        return 0
    view = rule_view(rule)
    stmt = inactive_query(segment_condition(rule.condition_json), rule.inactivity_days, now, coach_id=view.coach_id)
    pending = [(view, Occurrence(customer, spell_key(last, customer), now)) for customer, last in db.execute(stmt)]
    added = record(db, pending, now=now)
    rule.last_fired_at = now
    db.flush()
    return added


def detect_inactive(db: Session, now: dt.datetime | None = None) -> int:
    """Check every active INACTIVITY rule; the executions recorded. The caller commits."""
    now = now or utcnow()
    return sum(detect_rule(db, rule, now) for rule in _rules(db))
