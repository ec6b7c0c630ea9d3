"""From occurrences to executions: which active rules an event (or a cron instant) wakes, for whom.

The dispatcher hands ``match_events`` a batch of domain events inside its transaction. The
batch's active rules come in one query, each condition is compiled once per rule version and
kept, and every match becomes one ``automation_executions`` row whose ``idempotency_key`` names
the occurrence (``r<rule>:e<event>``): a batch dispatched twice inserts nothing the second time
(``ON CONFLICT DO NOTHING``). How often a rule may act for one customer is settled here, against
the executions already recorded and the ones this batch adds, in one grouped query per batch.
Time-driven rules (SCHEDULE, INACTIVITY) record theirs through ``record``, with the same rules.
The executions commit with the batch; the engine (``engine.py``) runs them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.automation import (
    AutomationExecution,
    AutomationRule,
    ExecutionStatus,
    RuleFrequency,
    RuleStatus,
    TriggerType,
)
from app.models.base import utcnow
from app.models.customers import CoachAssignment
from app.services.automation import triggers
from app.services.automation.conditions import CompiledCondition, compile_condition

INSERT_CHUNK = 1000


@dataclass(frozen=True)
class Occurrence:
    """One reason for a rule to act for one subject: an event, a cron instant, a spell of inactivity."""

    customer_id: uuid.UUID | None
    key: str  # unique per rule: "e<event id>", "cron:<instant>", "idle:<last activity day>"
    at: dt.datetime
    event_id: int | None = None


@dataclass(frozen=True)
class RuleView:
    """What matching needs of a rule, read once per batch (no ORM identity, no lazy loads)."""

    id: int
    version: int
    trigger_type: str
    trigger_event: str | None
    condition: Any
    frequency: str
    frequency_days: int | None
    coach_id: uuid.UUID | None


_COMPILED: dict[tuple[Any, ...], CompiledCondition] = {}
_COMPILED_MAX = 1024


def compiled(rule: RuleView) -> CompiledCondition:
    """The rule's condition, read once and kept (called once per rule per batch, not per event).

    Keyed by the condition's text as well as the rule and version: a deleted rule's id may be
    reused (SQLite), and the key must never find another rule's condition.
    """
    key = (rule.id, rule.version, rule.trigger_type, rule.trigger_event, json.dumps(rule.condition, sort_keys=True))
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        fields = triggers.condition_fields(rule.trigger_type, rule.trigger_event)
        found = _COMPILED[key] = compile_condition(rule.condition, fields)
    return found


_RULE_COLUMNS = (
    AutomationRule.id, AutomationRule.version, AutomationRule.trigger_type, AutomationRule.trigger_event,
    AutomationRule.condition_json, AutomationRule.frequency, AutomationRule.frequency_days, AutomationRule.coach_id,
)  # fmt: skip


def _view(row: Any) -> RuleView:
    return RuleView(
        row.id, row.version, TriggerType(row.trigger_type).value, row.trigger_event, row.condition_json,
        RuleFrequency(row.frequency).value, row.frequency_days, row.coach_id,
    )  # fmt: skip


def active_event_rules(db: Session, event_types: Iterable[str]) -> dict[str, list[RuleView]]:
    """Event type -> the active rules listening for it, in id order (one query)."""
    types = sorted(set(event_types))
    if not types:
        return {}
    rows = db.execute(
        sa.select(*_RULE_COLUMNS)
        .where(AutomationRule.status == RuleStatus.ACTIVE, AutomationRule.trigger_event.in_(types))
        .order_by(AutomationRule.id)
    )
    out: dict[str, list[RuleView]] = {}
    for row in rows:
        if TriggerType(row.trigger_type) in triggers.EVENT_TRIGGERS:
            out.setdefault(row.trigger_event, []).append(_view(row))
    return out


def active_rules_of(db: Session, trigger_type: TriggerType) -> list[AutomationRule]:
    """The active rules of one time-driven trigger type, locked (a second cron tick takes the others)."""
    stmt = (
        sa.select(AutomationRule)
        .where(AutomationRule.status == RuleStatus.ACTIVE, AutomationRule.trigger_type == trigger_type)
        .order_by(AutomationRule.id)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=AutomationRule, skip_locked=True)
    return list(db.scalars(stmt))


def rule_view(rule: AutomationRule) -> RuleView:
    return _view(rule)


def _coaches_of(db: Session, customer_ids: set[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    out: dict[uuid.UUID, set[uuid.UUID]] = {}
    ids = sorted(customer_ids)
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = ids[start : start + INSERT_CHUNK]
        stmt = sa.select(CoachAssignment.customer_id, CoachAssignment.coach_id)
        rows = db.execute(stmt.where(CoachAssignment.customer_id.in_(chunk)))
        for customer_id, coach_id in rows:
            out.setdefault(customer_id, set()).add(coach_id)
    return out


def _last_runs(db: Session, pairs: set[tuple[int, uuid.UUID]]) -> dict[tuple[int, uuid.UUID], dt.datetime]:
    """(rule, customer) -> when that rule last matched that customer (for the frequency limits)."""
    out: dict[tuple[int, uuid.UUID], dt.datetime] = {}
    by_rule: dict[int, list[uuid.UUID]] = {}
    for rule_id, customer_id in pairs:
        by_rule.setdefault(rule_id, []).append(customer_id)
    for rule_id, customers in by_rule.items():
        customers.sort()
        for start in range(0, len(customers), INSERT_CHUNK):
            rows = db.execute(
                sa.select(AutomationExecution.customer_id, sa.func.max(AutomationExecution.triggered_at))
                .where(
                    AutomationExecution.rule_id == rule_id,
                    AutomationExecution.customer_id.in_(customers[start : start + INSERT_CHUNK]),
                )
                .group_by(AutomationExecution.customer_id)
            )
            for customer_id, last in rows:
                out[(rule_id, customer_id)] = last
    return out


def _allowed(rule: RuleView, last: dt.datetime | None, at: dt.datetime) -> bool:
    if last is None or rule.frequency == RuleFrequency.EVERY_TIME:
        return True
    if rule.frequency == RuleFrequency.ONCE_PER_CUSTOMER:
        return False
    return at - last >= dt.timedelta(days=rule.frequency_days or 1)


def _insert(db: Session, rows: list[dict[str, Any]]) -> int:
    """Insert executions, skipping occurrences already recorded; how many were new."""
    if not rows:
        return 0
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = insert(AutomationExecution.__table__).on_conflict_do_nothing(index_elements=["idempotency_key"])
        result = db.execute(stmt.returning(AutomationExecution.__table__.c.id), rows[start : start + INSERT_CHUNK])
        added += len(result.all())
    return added


def record(db: Session, pending: Sequence[tuple[RuleView, Occurrence]], *, now: dt.datetime | None = None) -> int:
    """Record an execution per (rule, occurrence) the rule's coach scope and frequency allow; how many are new."""
    if not pending:
        return 0
    stamp = now or utcnow()
    customers = {o.customer_id for r, o in pending if r.coach_id is not None and o.customer_id is not None}
    coaches = _coaches_of(db, customers) if customers else {}
    limited = {(r.id, o.customer_id) for r, o in pending
               if r.frequency != RuleFrequency.EVERY_TIME and o.customer_id is not None}  # fmt: skip
    last = _last_runs(db, limited) if limited else {}
    rows: list[dict[str, Any]] = []
    for rule, occurrence in pending:
        if rule.coach_id is not None and rule.coach_id not in coaches.get(occurrence.customer_id, ()):  # type: ignore[arg-type]
            continue
        pair = (rule.id, occurrence.customer_id)
        if occurrence.customer_id is not None and rule.frequency != RuleFrequency.EVERY_TIME:
            if not _allowed(rule, last.get(pair), occurrence.at):  # type: ignore[arg-type]
                continue
            last[pair] = occurrence.at  # type: ignore[index]
        rows.append({
            "rule_id": rule.id, "rule_version": rule.version, "customer_id": occurrence.customer_id,
            "event_id": occurrence.event_id, "idempotency_key": f"r{rule.id}:{occurrence.key}",
            "triggered_at": occurrence.at, "status": ExecutionStatus.PENDING.value, "retry_count": 0,
            "steps_done": 0, "next_attempt_at": min(occurrence.at, stamp),  # due at once, oldest first
        })  # fmt: skip
    return _insert(db, rows)


def match_events(db: Session, events: Sequence[Any], *, now: dt.datetime | None = None) -> int:
    """The dispatcher's handler: executions for every active rule each event matches; how many are new."""
    rules = active_event_rules(db, {e.event_type for e in events})
    if not rules:
        return 0
    conditions = {rule.id: compiled(rule) for listening in rules.values() for rule in listening}
    pending: list[tuple[RuleView, Occurrence]] = []
    for event in events:
        listening = rules.get(event.event_type)
        if not listening:
            continue
        payload = triggers.event_payload(event.customer_id, event.payload or {})
        for rule in listening:
            if conditions[rule.id].matches(payload):
                pending.append((rule, Occurrence(event.customer_id, f"e{event.id}", event.occurred_at, event.id)))
    return record(db, pending, now=now)
