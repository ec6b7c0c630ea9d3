"""Dispatch benchmark: domain events per second through the outbox and 50 active rules, on PostgreSQL.

    python -m bench.automation_dispatch [--events 100000] [--customers 20000] [--batch 500]
                                        [--naive-events 5000]

A fresh migrated database gets ``--customers`` customers with coaches, 50 ACTIVE rules saved
through the rule service (five per event type, conditions of every kind, all three frequency
limits, a few limited to one coach's customers; each matches roughly 10-20% of its events), and
``--events`` undispatched domain events of ten types with catalogue-shaped payloads, generated in
SQL. Then ``dispatch_pending`` hands them, batch by batch, to the app's handlers (the engine's
``match_events`` among them), committing each batch as the ``automation.run`` job does; the
figure is events dispatched per second, with the executions recorded. Target (DESIGN.md): at
least 2,000 events/s.

Baseline in the same run, on the first ``--naive-events`` events: a naive per-rule loop (for each
rule, for each event: read the rule's JSON, build its fields, compile and evaluate the condition,
one query per match for the frequency limit, one INSERT per execution), whose executions must be
the same as the engine's for those events.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import EVENT_TYPES, build_app, drop_database, fresh_database, insert_domain_events, step

TARGET = 2000.0
COACHES = 50
SEGMENT = [{"type": "ADD_TO_SEGMENT", "params": {"segment": "bench"}}]


def rule_drafts(coach: str) -> list[dict[str, Any]]:
    """50 rules: five per event type, with conditions that each match about 10-20% of their events."""
    every, once, weekly = {}, {"frequency": "ONCE_PER_CUSTOMER"}, {"frequency": "ONCE_PER_PERIOD", "frequency_days": 7}
    mine = {"coach_id": coach}

    def ids(field: str, first: int, last: int) -> dict[str, Any]:
        return {"field": field, "op": "in", "value": list(range(first, last + 1))}

    def eq(field: str, value: Any) -> dict[str, Any]:
        return {"field": field, "op": "eq", "value": value}

    per_type: dict[str, list[tuple[dict[str, Any] | None, dict[str, Any]]]] = {
        "plan.item_completed": [
            (ids("plan_id", 1, 15), every),
            ({"all": [eq("item_type", "EXERCISE"), ids("plan_id", 1, 45)]}, weekly),
            (ids("plan_id", 50, 61), once),
            ({"not": ids("plan_id", 1, 85)}, mine),
            ({"any": [eq("plan_id", 7), {"all": [eq("item_type", "MEAL"), ids("plan_id", 70, 100)]}]}, every),
        ],
        "plan.item_missed": [
            ({"all": [eq("item_type", "HABIT"), ids("plan_id", 1, 40)]}, every),
            (ids("plan_id", 30, 44), weekly),
            ({"field": "item_type", "op": "ne", "value": "HABIT"}, {**once, "coach_id": coach}),
            ({"all": [{"field": "item_type", "op": "in", "value": ["EXERCISE", "MEAL"]}, ids("plan_id", 60, 80)]},
             every),
            ({"field": "scheduled_date", "op": "gte", "value": "2000-01-01"}, mine),
        ],
        "progress.metric_recorded": [
            ({"all": [eq("metric_type", "weight"), {"field": "value", "op": "gt", "value": 100}]}, every),
            ({"all": [eq("source", "WEARABLE"), {"field": "value", "op": "lt", "value": 65}]}, weekly),
            ({"field": "value", "op": "lt", "value": 60}, once),
            ({"field": "metric_type", "op": "in", "value": ["body_fat"]}, mine),
            ({"not": {"field": "value", "op": "lte", "value": 110}}, every),
        ],
        "session.booked": [
            (ids("session_id", 1, 15), every),
            (ids("session_id", 80, 95), once),
            (ids("session_id", 20, 33), every),
            (None, mine),
            (ids("session_id", 40, 55), weekly),
        ],
        "subscription.renewed": [
            (eq("product_id", 3), every),
            ({"field": "product_id", "op": "in", "value": [1, 2]}, once),
            ({"field": "renewal_date", "op": "exists"}, mine),
            (eq("product_id", 5), weekly),
            ({"field": "product_id", "op": "in", "value": [9, 10]}, every),
        ],
        "session.booking_cancelled": [
            ({"all": [eq("late", True), ids("session_id", 1, 60)]}, every),
            ({"all": [eq("late", False), ids("session_id", 1, 20)]}, once),
            (ids("session_id", 80, 95), weekly),
            ({"field": "late", "op": "exists"}, mine),
            (ids("session_id", 1, 10), every),
        ],
        "session.waitlisted": [
            (ids("session_id", 1, 15), every),
            (ids("session_id", 80, 92), once),
            (None, mine),
            (ids("session_id", 40, 55), weekly),
            ({"not": ids("session_id", 1, 85)}, every),
        ],
        "badge.awarded": [
            (eq("badge_code", "B3"), every),
            ({"field": "badge_id", "op": "in", "value": [1, 2]}, once),
            ({"field": "badge_code", "op": "contains", "value": "b9"}, weekly),
            (None, mine),
            ({"field": "badge_id", "op": "in", "value": [9, 10]}, every),
        ],
        "support.ticket_created": [
            (eq("priority", "URGENT"), every),
            ({"field": "priority", "op": "in", "value": ["HIGH"]}, once),
            ({"all": [eq("priority", "LOW"), eq("status", "OPEN")]}, every),
            (eq("status", "OPEN"), mine),
            ({"not": {"field": "priority", "op": "in", "value": ["NORMAL", "LOW", "HIGH"]}}, weekly),
        ],
        "payment.failed": [
            ({"field": "amount", "op": "gt", "value": 260}, every),
            (eq("method", "PAYPAL"), once),
            ({"all": [eq("currency", "EUR"), {"field": "amount", "op": "lt", "value": 60}]}, weekly),
            (None, mine),
            ({"all": [{"field": "method", "op": "ne", "value": "CARD"}, {"field": "amount", "op": "gt", "value": 250}]},
             every),
        ],
    }  # fmt: skip
    fixed = {"progress.metric_recorded": "METRIC_THRESHOLD", "payment.failed": "PAYMENT_FAILED"}
    drafts = []
    for event_type, cases in per_type.items():
        for index, (condition, settings) in enumerate(cases):
            drafts.append({
                "name": f"{event_type} #{index + 1}", "trigger_type": fixed.get(event_type, "EVENT"),
                "trigger_event": event_type, "condition": condition, "actions": SEGMENT, **settings,
            })  # fmt: skip
    return drafts


def generate(conn: Any, customers: int, events: int) -> None:
    p = {"customers": customers, "coaches": COACHES}
    conn.execute(text("SELECT setseed(0.53)"))
    conn.execute(text("INSERT INTO roles (code, description) VALUES ('CUSTOMER', 'Customer'), ('COACH', 'Coach') "
                      "ON CONFLICT DO NOTHING"))  # fmt: skip
    for prefix, count, code in (("coach", ":coaches", "COACH"), ("cust", ":customers", "CUSTOMER")):
        conn.execute(text(
            "INSERT INTO users (id, email, full_name, locale, status, legal_hold, created_at, updated_at) "
            f"SELECT md5('{prefix}' || g)::uuid, '{prefix}' || g || '@bench.test', '{prefix} ' || g, 'en', 'ACTIVE', "
            f"false, now() - interval '400 days', now() FROM generate_series(0, {count} - 1) g"
        ), p)  # fmt: skip
        conn.execute(text(
            f"INSERT INTO user_roles (user_id, role_id) SELECT md5('{prefix}' || g)::uuid, "
            f"(SELECT id FROM roles WHERE code = '{code}') FROM generate_series(0, {count} - 1) g"
        ), p)  # fmt: skip
    conn.execute(text(
        "INSERT INTO coach_assignments (customer_id, coach_id, assigned_at, is_primary) "
        "SELECT md5('cust' || g)::uuid, md5('coach' || (g % :coaches))::uuid, now() - interval '300 days', true "
        "FROM generate_series(0, :customers - 1) g"
    ), p)  # fmt: skip
    step(f"{events:,} undispatched domain events", lambda: insert_domain_events(conn, events, customers, 1,
                                                                             dispatched=False))  # fmt: skip


def naive_loop(db: Any, rule_ids: list[int], events: list[Any]) -> int:
    """The per-rule loop the engine replaces: everything once per (rule, event), a query per match."""
    from app.models.automation import AutomationExecution, AutomationRule, ExecutionStatus, RuleFrequency
    from app.models.base import utcnow
    from app.models.customers import CoachAssignment
    from app.services.automation import triggers
    from app.services.automation.conditions import compile_condition

    added = 0
    for rule_id in rule_ids:
        rule = db.get(AutomationRule, rule_id)
        for event in events:
            if event.event_type != rule.trigger_event:
                continue
            condition = json.loads(json.dumps(rule.condition_json))  # read the rule's JSON
            fields = triggers.condition_fields(rule.trigger_type, rule.trigger_event)
            if not compile_condition(condition, fields).matches(
                triggers.event_payload(event.customer_id, event.payload)
            ):
                continue  # fmt: skip
            if rule.coach_id is not None and not db.scalar(
                sa.select(sa.func.count()).select_from(CoachAssignment)
                .where(CoachAssignment.customer_id == event.customer_id, CoachAssignment.coach_id == rule.coach_id)
            ):  # fmt: skip
                continue
            if rule.frequency != RuleFrequency.EVERY_TIME:
                last = db.scalar(
                    sa.select(sa.func.max(AutomationExecution.triggered_at)).where(
                        AutomationExecution.rule_id == rule.id, AutomationExecution.customer_id == event.customer_id,
                        AutomationExecution.idempotency_key.like("naive:%"))
                )  # fmt: skip
                if last is not None and (
                    rule.frequency == RuleFrequency.ONCE_PER_CUSTOMER
                    or (event.occurred_at - last).days < (rule.frequency_days or 1)
                ):
                    continue
            db.add(AutomationExecution(
                rule_id=rule.id, rule_version=rule.version, customer_id=event.customer_id, event_id=event.id,
                idempotency_key=f"naive:r{rule.id}:e{event.id}", triggered_at=event.occurred_at,
                status=ExecutionStatus.PENDING, retry_count=0, steps_done=0, next_attempt_at=utcnow(),
            ))  # fmt: skip
            db.flush()
            added += 1
    db.commit()
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--naive-events", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database (its name is printed).")
    args = parser.parse_args(argv)
    assert len(EVENT_TYPES) == 10

    url = fresh_database("bench_dispatch")
    print(f"database: {make_url(url).database} (events={args.events:,}, customers={args.customers:,})", flush=True)
    try:
        return run(url, args)
    finally:
        if not args.keep:
            drop_database(url)


def run(url: str, args: argparse.Namespace) -> int:
    from app.extensions import appbuilder, db
    from app.models.automation import AutomationExecution, RuleStatus
    from app.models.events import DomainEvent
    from app.policy.sync import sync_roles
    from app.services.automation import rules
    from app.services.events.dispatch import dispatch_pending
    from app.services.events.handlers import handlers

    app = build_app(url)
    with app.app_context():
        sync_roles(appbuilder)
        print("generating data:", flush=True)
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            generate(conn, args.customers, args.events)
        coach = str(db.session.scalar(text("SELECT md5('coach0')::uuid")))
        rule_ids = []
        for fields in rule_drafts(coach):
            rule = rules.save(db.session, rules.RuleDraft(**fields), actor_id=None)
            rules.transition(db.session, rule, RuleStatus.ACTIVE)
            rule_ids.append(rule.id)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            step("VACUUM ANALYZE", lambda: conn.execute(text("VACUUM ANALYZE")))
        print(f"  {len(rule_ids)} active rules", flush=True)

        slice_ids = list(
            db.session.scalars(sa.select(DomainEvent.id).order_by(DomainEvent.id).limit(args.naive_events))
        )
        started = time.perf_counter()
        result = dispatch_pending(db.session, handlers(), batch_size=args.batch,
                                  commit_batch=lambda r: db.session.commit())  # fmt: skip
        db.session.commit()
        took = time.perf_counter() - started
        executions = db.session.scalar(sa.select(sa.func.count()).select_from(AutomationExecution))
        rate = result.dispatched / took
        print(f"\nengine: {result.dispatched:,} events in {result.batches} batches of {args.batch}, {took:.2f} s = "
              f"{rate:,.0f} events/s; {executions:,} executions "
              f"({executions / max(result.dispatched * 5, 1):.1%} of the event x listening rule pairs)")  # fmt: skip

        events = list(db.session.scalars(sa.select(DomainEvent).where(DomainEvent.id.in_(slice_ids))
                                         .order_by(DomainEvent.id)))  # fmt: skip
        db.session.expunge_all()
        started = time.perf_counter()
        naive_added = naive_loop(db.session, rule_ids, events)
        naive_took = time.perf_counter() - started
        naive_rate = len(events) / naive_took
        engine_same = db.session.scalar(
            sa.select(sa.func.count()).select_from(AutomationExecution)
            .where(AutomationExecution.event_id.in_(slice_ids), AutomationExecution.idempotency_key.not_like("naive:%"))
        )  # fmt: skip
        print(f"naive per-rule loop: {len(events):,} events in {naive_took:.2f} s = {naive_rate:,.0f} events/s; "
              f"{naive_added:,} executions (engine: {engine_same:,} for the same events)")  # fmt: skip
        print(f"\nengine / naive: {rate / naive_rate:,.1f}x; target >= {TARGET:,.0f} events/s: "
              f"{'OK' if rate >= TARGET else 'UNDER TARGET'}")  # fmt: skip
        return 0 if rate >= TARGET and naive_added == engine_same else 1


if __name__ == "__main__":
    sys.exit(main())
