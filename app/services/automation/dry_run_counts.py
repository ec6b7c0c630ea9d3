"""The dry run's numbers for an event rule: how many events of the window match, for how many
customers, and how many executions the rule would have recorded, counted in SQL.

The window's events of the rule's type (``ix_domain_events_event_type_occurred_at``) are counted,
and those the condition matches (compiled with ``to_sql`` over the payload,
``payload_sql.payload_columns``, evaluated once per event) grouped by customer in one pass;
every figure then comes from the groups. How often the rule may act is honoured as ``matching.record`` does: every time,
once per customer, or once per customer per N days. The last is a chain (each execution
starts a new period), walked through each customer's matching events in time order by one
recursive query on PostgreSQL; when N days is longer than the window it is simply once per
customer.

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
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.models.automation import RuleFrequency
from app.models.customers import CoachAssignment
from app.models.events import DomainEvent
from app.policy.scope import coach_customers
from app.services.automation import triggers
from app.services.automation.condition_tree import Field
from app.services.automation.conditions import CompiledCondition
from app.services.automation.field_sql import id_text
from app.services.automation.payload_sql import payload_columns

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
    """The dry run's numbers in SQL (``NotInSql`` if the condition uses a field SQL cannot read).

    Two statements: the window's size (an index-only count), and the matching events grouped by
    customer, the condition evaluated once per event, every figure computed from the groups.
    """
    hit = condition.to_sql(event_columns(fields))
    scanned = int(db.scalar(sa.select(sa.func.count()).select_from(DomainEvent).where(*window.criteria())) or 0)
    chained = frequency.kind == RuleFrequency.ONCE_PER_PERIOD and not _once_per_customer(frequency, window)
    in_sql_chain = chained and db.get_bind().dialect.name == "postgresql"
    columns: list[Any] = [DomainEvent.customer_id.label("customer_id"), sa.func.count().label("n")]
    if in_sql_chain:  # each customer's matching instants, in order, for the chain walk
        at = DomainEvent.occurred_at
        columns.append(postgresql.array_agg(postgresql.aggregate_order_by(at, at)).label("ts"))
    groups = sa.select(*columns).where(*window.criteria(), hit).group_by(DomainEvent.customer_id).cte("matched_groups")
    # Events about nobody run every time (frequency limits are per customer, as in ``record``) and
    # are no coach's: a rule limited to a coach's customers never acts on them.
    mine = sa.true() if frequency.coach_id is None else groups.c.customer_id.in_(coach_customers(frequency.coach_id))
    subject = groups.c.customer_id.is_not(None)
    total = sa.func.sum(groups.c.n)
    figures: list[Any] = [
        sa.func.coalesce(total, 0),
        sa.func.count().filter(subject),
        sa.func.coalesce(total.filter(mine), 0),
        sa.func.count().filter(subject, mine),
        sa.func.coalesce(total.filter(groups.c.customer_id.is_(None), mine), 0),
    ]
    if in_sql_chain:
        figures.append(_chain_length(groups, subject, mine, dt.timedelta(days=frequency.days or 1)))
    row = db.execute(sa.select(*figures).select_from(groups)).one()
    matched, customers, every, once, anonymous = (int(value or 0) for value in row[:5])
    if frequency.kind == RuleFrequency.EVERY_TIME:
        would_run = every
    elif not chained:
        would_run = once + anonymous
    elif in_sql_chain:
        would_run = int(row[5] or 0) + anonymous
    else:
        would_run = _chained(db, hit, window, frequency) + anonymous
    return Counts(scanned, matched, customers, would_run)


def _chain_length(
    groups: Any, subject: sa.ColumnElement[bool], mine: sa.ColumnElement[bool], period: dt.timedelta
) -> sa.ScalarSelect[Any]:
    """Once per customer per N days, on PostgreSQL: the executions of every customer's chain.

    A recursive walk through each customer's sorted instants (``groups.c.ts``): the first one acts,
    then the first at least N days after the last that acted, and so on; one row per execution.
    """
    walk = sa.select(groups.c.ts, groups.c.ts[1].label("last")).where(subject, mine).cte("walk", recursive=True)
    element = sa.func.unnest(walk.c.ts).table_valued("t").render_derived()
    following = (
        sa.select(sa.func.min(element.c.t).label("next"))
        .where(element.c.t >= walk.c.last + sa.literal(period, sa.Interval()))
        .lateral("following")
    )
    step = sa.select(walk.c.ts, following.c.next).select_from(walk.join(following, sa.true()))
    walk = walk.union_all(step.where(following.c.next.is_not(None)))
    return sa.select(sa.func.count()).select_from(walk).scalar_subquery()


def _chained(db: Session, hit: sa.ColumnElement[bool], window: Window, frequency: Frequency) -> int:
    """Once per customer per N days, elsewhere: walk each customer's matching events in time order."""
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
