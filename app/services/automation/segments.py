"""A segment of customers in SQL: each segment field as an expression over ``users``, and the
customers a SCHEDULE or INACTIVITY rule's condition picks, in one query.

``segment_columns`` gives every field of ``segment_fields.SEGMENT_FIELDS`` its SQL over the
``users`` row (correlated subqueries to the profile, the primary coach assignment, running
subscriptions and plans, the latest engagement event), so ``customers_query`` is one SELECT
whatever the condition says: a segment is never evaluated by loading customers one by one.
``customer_facts`` reads the same expressions as values, for the dry run's "why" lines.

"Now" matters to ``age`` and ``days_since_activity``: it is a parameter, so a cron instant (or a
test) sees the segment as it was at that moment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.analytics import EngagementEvent
from app.models.base import utcnow
from app.models.commerce import Subscription, SubscriptionStatus
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.identity import PlatformUser, UserStatus
from app.models.training import CustomerPlan, PlanStatus
from app.services.automation.conditions import CompiledCondition, compile_condition
from app.services.automation.field_sql import id_text, utc_date, whole_days
from app.services.automation.segment_fields import SEGMENT_FIELDS
from app.services.scheduling.rules import is_customer

# A subscription that is running: the statuses a pause applies to (console_actions.pause_subscriptions).
RUNNING_SUBSCRIPTIONS = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL, SubscriptionStatus.PAST_DUE)
FACTS_CHUNK = 500


def segment_condition(condition: dict[str, Any] | None) -> CompiledCondition:
    """A SCHEDULE or INACTIVITY rule's condition, read against the segment fields (``InvalidCondition``)."""
    return compile_condition(condition, {field.name: field for field in SEGMENT_FIELDS})


def acting_customers() -> sa.ColumnElement[bool]:
    """The users a time-driven rule may act for: customers (CUSTOMER role) not erased."""
    return sa.and_(is_customer(), PlatformUser.status != UserStatus.DELETED)


def last_activity() -> sa.ScalarSelect[Any]:
    """The customer's latest engagement event (NULL: none), correlated to ``users``.

    One backward step of ``ix_engagement_events_customer_id_occurred_at`` per customer.
    """
    return (
        sa.select(sa.func.max(EngagementEvent.occurred_at))
        .where(EngagementEvent.customer_id == PlatformUser.id)
        .scalar_subquery()
    )


def _profile(expression: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    return sa.select(expression).where(CustomerProfile.user_id == PlatformUser.id).scalar_subquery()


def _age(today: dt.date) -> sa.ColumnElement[Any]:
    """Whole years from the date of birth to ``today`` (one less before this year's birthday)."""
    born = CustomerProfile.date_of_birth
    month, day = sa.extract("month", born), sa.extract("day", born)
    before_birthday = sa.or_(month > today.month, sa.and_(month == today.month, day > today.day))
    return sa.cast(today.year - sa.extract("year", born) - sa.case((before_birthday, 1), else_=0), sa.Integer)


def segment_columns(now: dt.datetime | None = None) -> dict[str, sa.ColumnElement[Any]]:
    """Field name -> SQL expression over ``users`` for every segment field, as of ``now`` (default: now)."""
    now = now or utcnow()
    primary_coach = (
        sa.select(id_text(CoachAssignment.coach_id))
        .where(CoachAssignment.customer_id == PlatformUser.id, CoachAssignment.is_primary.is_(True))
        .order_by(CoachAssignment.assigned_at.desc(), CoachAssignment.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    running = sa.exists().where(
        Subscription.customer_id == PlatformUser.id, Subscription.status.in_(RUNNING_SUBSCRIPTIONS)
    )
    planned = sa.exists().where(CustomerPlan.customer_id == PlatformUser.id, CustomerPlan.status == PlanStatus.ACTIVE)
    return {
        "customer_id": id_text(PlatformUser.id),
        "coach_id": primary_coach,
        "status": sa.type_coerce(PlatformUser.status, sa.String()),
        "locale": PlatformUser.locale,
        "timezone": _profile(CustomerProfile.timezone),
        "gender": _profile(sa.type_coerce(CustomerProfile.gender, sa.String())),
        "age": _profile(_age(now.astimezone(dt.UTC).date())),
        "signup_date": utc_date(PlatformUser.created_at),
        "has_active_subscription": running,
        "has_active_plan": planned,
        "days_since_activity": whole_days(last_activity(), now),
    }


def customers_query(
    condition: CompiledCondition,
    columns: Mapping[str, sa.ColumnElement[Any]] | None = None,
    *,
    now: dt.datetime | None = None,
) -> sa.Select[tuple[uuid.UUID]]:
    """The ids of the customers (not erased) ``condition`` matches, as one SELECT over ``users``.

    ``columns`` defaults to ``segment_columns(now)``; ``NotInSql`` if the condition names a field
    they lack.
    """
    columns = columns if columns is not None else segment_columns(now)
    return sa.select(PlatformUser.id).where(acting_customers(), condition.to_sql(columns))


def customer_facts(
    db: Session, customer_ids: Iterable[uuid.UUID], *, now: dt.datetime | None = None
) -> dict[uuid.UUID, dict[str, Any]]:
    """Customer id -> its segment fields as values (the payload a condition's ``explain`` reads)."""
    columns = segment_columns(now)
    ids = list(dict.fromkeys(customer_ids))
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), FACTS_CHUNK):
        chunk = ids[start : start + FACTS_CHUNK]
        stmt = sa.select(PlatformUser.id, *(column.label(name) for name, column in columns.items()))
        for row in db.execute(stmt.where(PlatformUser.id.in_(chunk))).mappings():
            facts = {name: row[name] for name in columns}
            out[row["id"]] = {name: value for name, value in facts.items() if value is not None}
    return out
