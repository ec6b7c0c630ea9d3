"""The coach's workspace: today's and tomorrow's sessions, customers needing attention, plans ending.

Always the coach's own rows (``coach_customers`` and ``ScheduledSession.coach_id``), even for a
person who also holds an unrestricted role: this page is about their own coaching.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.analytics import EngagementEvent
from app.models.engagement import Message, Thread
from app.models.identity import PlatformUser
from app.models.scheduling import ScheduledSession, SessionStatus
from app.models.training import CompletionState, CustomerPlan, PlanItem, PlanStatus
from app.policy.scope import coach_customers
from app.services.engagement.inbox import to_staff
from app.services.workspaces import ROW_LIMIT, day_bounds

MISSED_LOOKBACK_DAYS = 7
ATTENTION_LIMIT = 15


@dataclass
class Attention:
    """A customer and why they need a look: missed items, days idle, unread messages."""

    customer_id: uuid.UUID
    name: str
    missed: int = 0
    idle: bool = False
    unread: int = 0
    thread_id: int | None = None


@dataclass
class CoachWorkspace:
    today: list[ScheduledSession]
    tomorrow: list[ScheduledSession]
    attention: list[Attention]
    plans_ending: list[CustomerPlan]
    inactive_days: int


def sessions_by_day(session: Session, coach_id: uuid.UUID, today: dt.date, zone: Any) -> tuple[list, list]:
    """The coach's sessions (not cancelled) starting today and tomorrow in ``zone``, one query."""
    start, end = day_bounds(today, zone, days=2)
    midnight = day_bounds(today, zone)[1]
    stmt = (
        sa.select(ScheduledSession)
        .where(
            ScheduledSession.coach_id == coach_id,
            ScheduledSession.start_time >= start,
            ScheduledSession.start_time < end,
            ScheduledSession.status != SessionStatus.CANCELLED,
        )
        .order_by(ScheduledSession.start_time, ScheduledSession.id)
        .limit(4 * ROW_LIMIT)
    )
    rows = list(session.scalars(stmt).unique())
    return [s for s in rows if s.start_time < midnight], [s for s in rows if s.start_time >= midnight]


def needing_attention(
    session: Session, coach_id: uuid.UUID, today: dt.date, now: dt.datetime, inactive_days: int
) -> list[Attention]:
    """Customers with missed plan items (last week), no activity for ``inactive_days``, or unread messages.

    Three grouped queries over the coach's customers, each with a LIMIT, merged here.
    """
    mine = coach_customers(coach_id)
    found: dict[uuid.UUID, Attention] = {}

    def entry(customer_id: uuid.UUID, name: str) -> Attention:
        return found.setdefault(customer_id, Attention(customer_id, name))

    missed_state = sa.or_(
        PlanItem.completion_state == CompletionState.MISSED,
        sa.and_(PlanItem.completion_state == CompletionState.PENDING, PlanItem.scheduled_date < today),
    )
    missed = (
        sa.select(CustomerPlan.customer_id, PlatformUser.full_name, sa.func.count(PlanItem.id))
        .join(CustomerPlan, CustomerPlan.id == PlanItem.plan_id)
        .join(PlatformUser, PlatformUser.id == CustomerPlan.customer_id)
        .where(
            CustomerPlan.customer_id.in_(mine),
            PlanItem.scheduled_date >= today - dt.timedelta(days=MISSED_LOOKBACK_DAYS),
            PlanItem.scheduled_date < today,
            missed_state,
        )
        .group_by(CustomerPlan.customer_id, PlatformUser.full_name)
        .order_by(sa.func.count(PlanItem.id).desc())
        .limit(ATTENTION_LIMIT)
    )
    for cid, name, n in session.execute(missed):
        entry(cid, name).missed = n

    since = now - dt.timedelta(days=inactive_days)
    recent = sa.select(EngagementEvent.id).where(
        EngagementEvent.customer_id == PlatformUser.id, EngagementEvent.occurred_at >= since
    )
    idle = (
        sa.select(PlatformUser.id, PlatformUser.full_name)
        .where(PlatformUser.id.in_(mine), ~recent.exists())
        .order_by(PlatformUser.full_name, PlatformUser.id)
        .limit(ATTENTION_LIMIT)
    )
    for cid, name in session.execute(idle):
        entry(cid, name).idle = True

    unread = (
        sa.select(Thread.customer_id, PlatformUser.full_name, sa.func.count(Message.id), sa.func.max(Thread.id))
        .join(Thread, Thread.id == Message.thread_id)
        .join(PlatformUser, PlatformUser.id == Thread.customer_id)
        .where(Thread.coach_id == coach_id, Message.read_at.is_(None), to_staff())
        .group_by(Thread.customer_id, PlatformUser.full_name)
        .order_by(sa.func.count(Message.id).desc())
        .limit(ATTENTION_LIMIT)
    )
    for cid, name, n, thread_id in session.execute(unread):
        item = entry(cid, name)
        item.unread, item.thread_id = n, thread_id

    ranked = sorted(found.values(), key=lambda a: (-(a.unread > 0), -a.missed, not a.idle, a.name or ""))
    return ranked[:ATTENTION_LIMIT]


def plans_ending(session: Session, coach_id: uuid.UUID, today: dt.date) -> list[CustomerPlan]:
    """The coach's customers' active plans whose end date falls from today to Sunday."""
    sunday = today + dt.timedelta(days=6 - today.weekday())
    stmt = (
        sa.select(CustomerPlan)
        .where(
            CustomerPlan.customer_id.in_(coach_customers(coach_id)),
            CustomerPlan.status == PlanStatus.ACTIVE,
            CustomerPlan.end_date >= today,
            CustomerPlan.end_date <= sunday,
        )
        .order_by(CustomerPlan.end_date, CustomerPlan.id)
        .limit(ROW_LIMIT)
    )
    return list(session.scalars(stmt).unique())


def build(session: Session, coach_id: uuid.UUID, now: dt.datetime, zone: Any, inactive_days: int) -> CoachWorkspace:
    today = now.astimezone(zone).date()
    day1, day2 = sessions_by_day(session, coach_id, today, zone)
    return CoachWorkspace(
        today=day1,
        tomorrow=day2,
        attention=needing_attention(session, coach_id, today, now, inactive_days),
        plans_ending=plans_ending(session, coach_id, today),
        inactive_days=inactive_days,
    )
