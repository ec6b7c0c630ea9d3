"""The dry run's numbers for an event rule: how many events of the window match, for how many
customers, and how many executions the rule would have recorded, counted in SQL.

The window's events of the rule's type (``ix_domain_events_event_type_occurred_at``) are grouped
by customer in one pass, the condition compiled with ``to_sql`` over the payload
(``field_sql.payload_columns``) and evaluated once per event; every figure then comes from
the groups. How often the rule may act is honoured as ``matching.record`` does: every time,
once per customer, or once per customer per N days. The last is a chain (each execution
starts a new period), counted by walking the matching events of each customer in time order;
when N days is longer than the window it is simply once per customer, counted in SQL.

``python_counts`` gives the same numbers by evaluating every event in Python: the reference the
tests compare with, the fallback for a condition SQL cannot express, and the benchmark's baseline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.automation import RuleFrequency
from app.models.customers import CoachAssignment
from app.models.events import DomainEvent
from app.policy.scope import coach_customers
from app.services.automation import triggers
from app.services.automation.condition_tree import Field
from app.services.automation.conditions import CompiledCondition
from app.services.automation.field_sql import id_text, payload_columns

STREAM_BATCH = 5000


@dataclass(frozen=True)
class Window:
    """The events a dry run replays: one type, ``since`` <= occurred_at <= ``until``, optionally within a row scope."""

    event_type: str
    since: dt.datetime
    until: dt.datetime
    customers: sa.Select[Any] | None = None

    def criteria(self) -> list[sa.ColumnElement[bool]]:
        where = [
            DomainEvent.event_type == self.event_type,
            DomainEvent.occurred_at >= self.since,
            DomainEvent.occurred_at <= self.until,
        ]
        if self.customers is not None:
            where.append(DomainEvent.customer_id.in_(self.customers))
        return where


@dataclass(frozen=True)
class Frequency:
    """How often the rule may act for one customer, and the coach whose customers it is limited to."""

    kind: str = RuleFrequency.EVERY_TIME.value
    days: int | None = None
    coach_id: uuid.UUID | None = None

    def allowed(self, last: dt.datetime | None, at: dt.datetime) -> bool:
        """``matching``'s rule: may the rule act at ``at`` after last acting at ``last``?"""
        if last is None or self.kind == RuleFrequency.EVERY_TIME:
            return True
        if self.kind == RuleFrequency.ONCE_PER_CUSTOMER:
            return False
        return at - last >= dt.timedelta(days=self.days or 1)


@dataclass
class Counts:
    scanned: int = 0
    matched: int = 0
    customers: int = 0
    would_run: int = 0


def event_columns(fields: Mapping[str, Field]) -> dict[str, sa.ColumnElement[Any]]:
    """Field name -> SQL over ``domain_events`` for an event rule's condition fields (payload + subject)."""
    return payload_columns(DomainEvent.payload, fields, customer_id=id_text(DomainEvent.customer_id))


def _within_scope(column: sa.ColumnElement[Any], coach_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    return column.in_(coach_customers(coach_id)) if coach_id is not None else sa.true()


def _once_per_customer(frequency: Frequency, window: Window) -> bool:
    if frequency.kind == RuleFrequency.ONCE_PER_CUSTOMER:
        return True
    # A period longer than the window: a second execution could never be allowed within it.
    span = window.until - window.since
    return frequency.kind == RuleFrequency.ONCE_PER_PERIOD and dt.timedelta(days=frequency.days or 1) > span


def sql_counts(
    db: Session, condition: CompiledCondition, fields: Mapping[str, Field], window: Window, frequency: Frequency
) -> Counts:
    """The dry run's numbers in SQL (``NotInSql`` if the condition uses a field SQL cannot read)."""
    hit = condition.to_sql(event_columns(fields))
    groups = (
        sa.select(
            DomainEvent.customer_id.label("customer_id"),
            sa.func.count().label("scanned"),
            sa.func.count().filter(hit).label("matched"),
        )
        .where(*window.criteria())
        .group_by(DomainEvent.customer_id)
        .subquery()
    )
    # Events about nobody run every time (frequency limits are per customer, as in ``record``) and
    # are no coach's: a rule limited to a coach's customers never acts on them.
    mine = sa.true() if frequency.coach_id is None else groups.c.customer_id.in_(coach_customers(frequency.coach_id))
    subject = groups.c.customer_id.is_not(None)
    total = sa.func.sum(groups.c.matched)
    row = db.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(groups.c.scanned), 0),
            sa.func.coalesce(total, 0),
            sa.func.count().filter(groups.c.matched > 0, subject),
            sa.func.coalesce(total.filter(mine), 0),
            sa.func.count().filter(groups.c.matched > 0, subject, mine),
            sa.func.coalesce(total.filter(groups.c.customer_id.is_(None), mine), 0),
        )
    ).one()
    scanned, matched, customers, every, once, anonymous = (int(value or 0) for value in row)
    if frequency.kind == RuleFrequency.EVERY_TIME:
        would_run = every
    elif _once_per_customer(frequency, window):
        would_run = once + anonymous
    else:
        would_run = _chained(db, hit, window, frequency) + anonymous
    return Counts(scanned, matched, customers, would_run)


def _chained(db: Session, hit: sa.ColumnElement[bool], window: Window, frequency: Frequency) -> int:
    """Once per customer per N days: walk each customer's matching events in time order."""
    stmt = (
        sa.select(DomainEvent.customer_id, DomainEvent.occurred_at)
        .where(*window.criteria(), hit, DomainEvent.customer_id.is_not(None),
               _within_scope(DomainEvent.customer_id, frequency.coach_id))
        .order_by(DomainEvent.customer_id, DomainEvent.occurred_at)
        .execution_options(yield_per=STREAM_BATCH)
    )  # fmt: skip
    runs, current, last = 0, None, None
    for customer_id, at in db.execute(stmt):
        if customer_id != current:
            current, last = customer_id, None
        if frequency.allowed(last, at):
            runs, last = runs + 1, at
    return runs


def python_counts(db: Session, condition: CompiledCondition, window: Window, frequency: Frequency) -> Counts:
    """The same numbers by evaluating every event of the window in Python (reference and fallback)."""
    scope: set[uuid.UUID] | None = None
    if frequency.coach_id is not None:
        stmt = sa.select(CoachAssignment.customer_id).where(CoachAssignment.coach_id == frequency.coach_id)
        scope = set(db.scalars(stmt))
    stmt = (
        sa.select(DomainEvent.customer_id, DomainEvent.occurred_at, DomainEvent.payload)
        .where(*window.criteria())
        .order_by(DomainEvent.occurred_at, DomainEvent.id)
        .execution_options(yield_per=STREAM_BATCH)
    )
    counts, customers = Counts(), set()
    last: dict[uuid.UUID, dt.datetime] = {}
    for customer_id, at, payload in db.execute(stmt):
        counts.scanned += 1
        if not condition.matches(triggers.event_payload(customer_id, payload or {})):
            continue
        counts.matched += 1
        if customer_id is not None:
            customers.add(customer_id)
        if scope is not None and customer_id not in scope:
            continue
        if customer_id is None or frequency.kind == RuleFrequency.EVERY_TIME:
            counts.would_run += 1
        elif frequency.allowed(last.get(customer_id), at):
            counts.would_run += 1
            last[customer_id] = at
    counts.customers = len(customers)
    return counts
