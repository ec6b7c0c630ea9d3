"""Dry runs on both databases: the SQL count over the event window equals evaluating every event
in Python, frequency limits and coach scope, a coach's row scope, segment rules matched now,
a sample that says why and what each action would do, and no write at all."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.compliance import AuditLog
from app.models.events import DomainEvent
from app.models.identity import RoleCode
from app.models.training import PlanStatus
from app.policy.scope import coach_customers
from app.services import events
from app.services.automation import dry_run, triggers
from app.services.automation.conditions import compile_condition
from app.services.automation.dry_run_counts import Frequency, Window, python_counts, sql_counts
from app.services.automation.rules import RuleDraft, RuleInvalid
from tests.support.automation_segments import customer, person

NOW = dt.datetime(2025, 5, 20, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ACTIONS = [
    {"type": "SEND_MESSAGE", "params": {"template": "Hi {first_name}, a payment of {amount} failed."}},
    {"type": "ADD_TO_SEGMENT", "params": {"segment": "payment-trouble"}},
]


def _emit(event_type: str, customer_id: uuid.UUID | None, days_ago: float, **payload: Any) -> None:
    event = events.emit(db.session, event_type, customer_id=customer_id, **payload)
    event.occurred_at = NOW - dt.timedelta(days=days_ago)


def _raw(event_type: str, customer_id: uuid.UUID | None, days_ago: float, payload: dict[str, Any]) -> None:
    """An event whose payload never went through ``emit`` (an old or hand-written row): odd kinds read as missing."""
    db.session.add(DomainEvent(event_type=event_type, customer_id=customer_id, payload=payload,
                               occurred_at=NOW - dt.timedelta(days=days_ago)))  # fmt: skip


def _world() -> dict[str, Any]:
    coach_a = person("Cora Coach", RoleCode.COACH).id
    coach_b = person("Omar Coach", RoleCode.COACH).id
    db.session.commit()
    since = NOW - 400 * DAY
    c = {
        "ana": customer("Ana Alvarez", signed_up=since, coach=coach_a, plan=PlanStatus.ACTIVE, activity=[NOW - DAY]),
        "ben": customer("Ben Brown", signed_up=since, coach=coach_a, activity=[NOW - 20 * DAY]),
        "cleo": customer("Cleo Clark", signed_up=since, coach=coach_b, plan=PlanStatus.ACTIVE),
        "dan": customer("Dan Diaz", signed_up=since),
    }
    failed = events.PAYMENT_FAILED
    for who, days_ago, amount, method, invoice in [
        ("ana", 2, "120", "CARD", 1), ("ana", 5, "80", "CARD", 2), ("ana", 20, "300", "SEPA_DEBIT", 3),
        ("ben", 1, "150", "PAYPAL", 4), ("ben", 3, "150", "PAYPAL", 5), ("ben", 12, "150", "CARD", 6),
        ("cleo", 4, "50", "CARD", 7), ("cleo", 40, "500", "CARD", 8),  # the second is outside 30 days
        ("dan", 6, "200.5", "BANK_TRANSFER", 9),
    ]:  # fmt: skip
        _emit(failed, c[who], days_ago, payment_id=invoice, invoice_id=invoice, amount=decimal.Decimal(amount),
              currency="EUR" if who != "dan" else "USD", method=method)  # fmt: skip
    _raw(failed, c["dan"], 7, {"payment_id": 10, "invoice_id": 7.0, "amount": "abc", "currency": 5, "method": "X"})
    _raw(failed, c["ben"], 8, {"payment_id": 11, "invoice_id": "11", "amount": True, "currency": "eur"})
    _emit(events.SESSION_BOOKED, c["ana"], 1, session_id=3)  # another type: never scanned
    # Other kinds: instants, dates, booleans, whole numbers, and events about nobody.
    for who, days_ago, due in [("ana", 1, NOW + DAY), ("ben", 2, NOW - DAY), ("cleo", 3, None)]:
        _emit(events.SUPPORT_TICKET_CREATED, c[who], days_ago, ticket_id=days_ago, priority="HIGH", status="OPEN",
              sla_due_at=due)  # fmt: skip
    _raw(events.SUPPORT_TICKET_CREATED, c["dan"], 2, {"ticket_id": 9, "priority": "LOW", "sla_due_at": "soon"})
    for who, days_ago, late in [("ana", 1, True), ("ben", 2, False), ("dan", 3, None)]:
        _emit(events.SESSION_BOOKING_CANCELLED, c[who], days_ago, session_id=1, late=late)
    for who, days_ago, day in [("ana", 1, "2025-05-18"), ("cleo", 2, "2025-05-10"), ("dan", 9, "2025-05-11")]:
        _emit(events.PLAN_ITEM_MISSED, c[who], days_ago, plan_id=1, plan_item_id=days_ago, item_type="EXERCISE",
              item_id=1, scheduled_date=dt.date.fromisoformat(day))  # fmt: skip
    for who, days_ago, week in [("ana", 1, 1), ("ben", 2, 3), ("cleo", 3, 2)]:
        _emit(events.PLAN_ASSIGNED, c[who], days_ago, plan_id=days_ago, program_id=1, start_date=NOW.date(),
              start_week=week)  # fmt: skip
    _raw(events.PLAN_ASSIGNED, c["dan"], 1, {"plan_id": 9, "program_id": 1, "start_week": 2.5})
    _emit(events.SESSION_CANCELLED, None, 2, session_id=5)  # about the whole session: no customer
    _emit(events.SESSION_CANCELLED, c["ana"], 2, session_id=5, participant_id=1, role="PRIMARY")
    db.session.commit()
    return {"coach_a": coach_a, "coach_b": coach_b, **c}


def _draft(condition: dict | None = None, **changes: Any) -> RuleDraft:
    fields = {"name": "Payment trouble", "trigger_type": "PAYMENT_FAILED", "trigger_event": events.PAYMENT_FAILED,
              "condition": condition, "actions": ACTIONS}  # fmt: skip
    fields.update(changes)
    return RuleDraft(**fields)


def _both(draft: RuleDraft, customers: sa.Select | None = None) -> tuple[Any, Any]:
    """The SQL counts and the Python counts of ``draft`` over the last 30 days."""
    fields = triggers.condition_fields(draft.trigger_type, draft.trigger_event)
    condition = compile_condition(draft.condition, fields)
    window = Window(draft.trigger_event, NOW - 30 * DAY, NOW, customers)
    coach = uuid.UUID(draft.coach_id) if draft.coach_id else None
    frequency = Frequency(draft.frequency, draft.frequency_days, coach)
    in_sql = sql_counts(db.session, condition, fields, window, frequency)
    return in_sql, python_counts(db.session, condition, window, frequency)


def _cases(w: dict[str, Any]) -> list[tuple[str, dict | None]]:
    failed, ticket, late = events.PAYMENT_FAILED, events.SUPPORT_TICKET_CREATED, events.SESSION_BOOKING_CANCELLED
    missed, assigned = events.PLAN_ITEM_MISSED, events.PLAN_ASSIGNED
    return [
        (failed, None),
        (failed, {"field": "amount", "op": "gt", "value": 100}),
        (failed, {"not": {"field": "amount", "op": "gt", "value": 100}}),
        (failed, {"field": "amount", "op": "exists", "value": False}),
        (failed, {"field": "amount", "op": "eq", "value": 200.5}),
        (failed, {"any": [{"field": "method", "op": "eq", "value": "PAYPAL"},
                          {"field": "amount", "op": "lte", "value": 80}]}),
        (failed, {"field": "method", "op": "ne", "value": "CARD"}),
        (failed, {"field": "currency", "op": "contains", "value": "eu"}),
        (failed, {"field": "currency", "op": "in", "value": ["USD", "GBP"]}),
        (failed, {"field": "customer_id", "op": "eq", "value": str(w["ana"])}),
        (failed, {"field": "customer_id", "op": "ne", "value": str(w["ana"])}),
        (failed, {"field": "invoice_id", "op": "in", "value": [1, 2, 7, 11]}),
        (failed, {"field": "invoice_id", "op": "ne", "value": 3}),
        (ticket, {"field": "sla_due_at", "op": "lt", "value": NOW.isoformat()}),
        (ticket, {"field": "sla_due_at", "op": "exists", "value": False}),
        (ticket, {"field": "priority", "op": "eq", "value": "HIGH"}),
        (late, {"field": "late", "op": "eq", "value": True}),
        (late, {"field": "late", "op": "ne", "value": True}),
        (missed, {"field": "scheduled_date", "op": "gte", "value": "2025-05-11"}),
        (assigned, {"field": "start_week", "op": "gte", "value": 2}),
        (assigned, {"not": {"field": "start_week", "op": "eq", "value": 1}}),
        (events.SESSION_CANCELLED, {"field": "customer_id", "op": "exists", "value": False}),
    ]  # fmt: skip


FREQUENCIES = [
    {},
    {"frequency": "ONCE_PER_CUSTOMER"},
    {"frequency": "ONCE_PER_PERIOD", "frequency_days": 3},
    {"frequency": "ONCE_PER_PERIOD", "frequency_days": 90},
]


def test_the_sql_count_equals_evaluating_every_event_in_python(app_ctx):
    w = _world()
    seen_matches = 0
    for event_type, condition in _cases(w):
        for frequency in FREQUENCIES:
            for coach in (None, str(w["coach_a"])):
                draft = _draft(condition, trigger_type="EVENT", trigger_event=event_type, coach_id=coach, **frequency)
                in_sql, in_python = _both(draft)
                assert in_sql == in_python, (event_type, condition, frequency, coach)
                seen_matches += in_sql.matched
    assert seen_matches > 0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, (10, 6, 3, 6)),
        ({"frequency": "ONCE_PER_CUSTOMER"}, (10, 6, 3, 3)),
        # Ana on days 20 and 2; Ben on days 12 and 3, not day 1 (two days after day 3); Dan once.
        ({"frequency": "ONCE_PER_PERIOD", "frequency_days": 3}, (10, 6, 3, 5)),
        ({"coach_id": "coach_a"}, (10, 6, 3, 5)),
        ({"coach_id": "coach_a", "frequency": "ONCE_PER_CUSTOMER"}, (10, 6, 3, 2)),
    ],
)
def test_the_report_counts_the_window_the_matches_and_what_would_run(app_ctx, changes, expected):
    w = _world()
    if "coach_id" in changes:
        changes = {**changes, "coach_id": str(w[changes["coach_id"]])}
    report = dry_run.run(db.session, _draft({"field": "amount", "op": "gt", "value": 100}, **changes), now=NOW)
    found = report.as_dict()
    assert (found["scanned"], found["matched"], found["customers"], found["would_run"]) == expected
    assert found["trigger"] == "event" and found["days"] == 30 and found["truncated"] is False


def test_the_sample_says_why_each_customer_matched_and_what_each_action_would_do(app_ctx):
    w = _world()
    report = dry_run.run(db.session, _draft({"field": "amount", "op": "gt", "value": 100}), now=NOW, sample=2)
    found = report.as_dict()
    assert found["truncated"] is True and len(found["sample"]) == 2
    ben, ana = found["sample"]  # the latest matching event of each customer, newest first
    assert (ben["customer"], ana["customer"]) == ("Ben Brown", "Ana Alvarez")
    assert ben["customer_id"] == str(w["ben"]) and ben["event_id"] is not None
    assert ben["occurred_at"] == (NOW - DAY).isoformat()
    assert any("amount 150 > 100 ✓" in line for line in ben["why"])
    message, segment = ana["actions"]
    assert message["type"] == "SEND_MESSAGE" and "Ana" in message["preview"] and "120" in message["preview"]
    assert segment == {"type": "ADD_TO_SEGMENT", "label": "Add to a segment",
                       "preview": "Add the customer to the segment payment-trouble."}  # fmt: skip
    everyone = dry_run.run(db.session, _draft({"field": "amount", "op": "gt", "value": 100}), now=NOW).as_dict()
    [dan] = [row for row in everyone["sample"] if row["customer"] == "Dan Diaz"]
    assert dan["actions"][0]["preview"].startswith("Would not run:")  # Dan has no coach to write from
    assert everyone["truncated"] is False and len(everyone["sample"]) == 3


def test_a_coach_counts_and_sees_only_their_own_customers(app_ctx):
    w = _world()
    scope = coach_customers(w["coach_a"])
    report = dry_run.run(db.session, _draft(), now=NOW, customers=scope).as_dict()
    in_sql, in_python = _both(_draft(), scope)
    assert in_sql == in_python
    # Ana 3 and Ben 3 emitted, plus Ben's hand-written one: Cleo's and Dan's are not counted.
    assert (report["scanned"], report["matched"], report["customers"], report["would_run"]) == (7, 7, 2, 7)
    assert {row["customer_id"] for row in report["sample"]} == {str(w["ana"]), str(w["ben"])}


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_a_dry_run_writes_nothing(app_ctx):
    w = _world()
    schedule = _draft(None, trigger_type="SCHEDULE", trigger_event=None, schedule_cron="0 9 * * 1",
                      schedule_timezone="Europe/Madrid")  # fmt: skip
    idle = _draft(None, trigger_type="INACTIVITY", trigger_event=None, inactivity_days=7)
    before, audited = _row_counts(), db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    for draft in (_draft(), _draft(frequency="ONCE_PER_PERIOD", frequency_days=2, coach_id=str(w["coach_a"])),
                  schedule, idle):  # fmt: skip
        dry_run.run(db.session, draft, now=NOW)
        assert not (db.session.new or db.session.dirty or db.session.deleted)
    db.session.commit()  # anything left pending would be written (and audited) now
    assert _row_counts() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audited


def test_segment_rules_show_who_matches_now(app_ctx):
    w = _world()
    planned = {"field": "has_active_plan", "op": "eq", "value": True}
    schedule = _draft(planned, trigger_type="SCHEDULE", trigger_event=None, schedule_cron="0 9 * * 1",
                      schedule_timezone="Europe/Madrid")  # fmt: skip
    found = dry_run.run(db.session, schedule, now=NOW).as_dict()
    assert (found["trigger"], found["scanned"], found["matched"], found["would_run"]) == ("segment", 4, 2, 2)
    assert [row["customer"] for row in found["sample"]] == ["Ana Alvarez", "Cleo Clark"]
    assert any("has_active_plan" in line and "✓" in line for line in found["sample"][0]["why"])
    mine = dry_run.run(db.session, _draft(planned, trigger_type="SCHEDULE", trigger_event=None,
                                          schedule_cron="0 9 * * 1", schedule_timezone="UTC",
                                          coach_id=str(w["coach_a"])), now=NOW).as_dict()  # fmt: skip
    assert (mine["matched"], mine["would_run"]) == (2, 1)  # Cleo matches but is not the coach's
    idle = dry_run.run(db.session, _draft(None, trigger_type="INACTIVITY", trigger_event=None, inactivity_days=7),
                       now=NOW, customers=coach_customers(w["coach_a"])).as_dict()  # fmt: skip
    assert (idle["scanned"], idle["matched"]) == (2, 1)  # Ana was active yesterday; Ben 20 days ago
    [ben] = idle["sample"]
    assert ben["customer"] == "Ben Brown" and ben["occurred_at"] == (NOW - 20 * DAY).isoformat()
    assert "more than 7 days" in ben["why"][0]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"condition": {"field": "colour", "op": "eq", "value": "red"}}, "condition.field"),
        ({"condition": {"field": "amount", "op": "contains", "value": "1"}}, "condition.op"),
        ({"trigger_type": "SCHEDULE", "trigger_event": None, "schedule_cron": "every day",
          "schedule_timezone": "UTC"}, "schedule_cron"),
        ({"actions": [{"type": "LAUNCH_ROCKET", "params": {}}]}, "actions[0]"),
    ],
)  # fmt: skip
def test_a_bad_draft_is_refused_with_its_problems(app_ctx, changes, path):
    _world()
    before = _row_counts()
    with pytest.raises(RuleInvalid) as refused:
        dry_run.run(db.session, _draft(**changes), now=NOW)
    assert path in [problem.path for problem in refused.value.problems]
    assert _row_counts() == before


def test_the_cli_dry_runs_a_saved_rule(app):
    from tests.support.automation_support import make_rule

    with app.app_context():
        _world()
        rule = make_rule("Trouble", trigger_type="PAYMENT_FAILED", trigger_event=events.PAYMENT_FAILED,
                         condition={"field": "amount", "op": "gt", "value": 100}, activate=False)  # fmt: skip
        rule_id = rule.id
    runner = app.test_cli_runner()
    out = runner.invoke(args=["automation", "dry-run", str(rule_id), "--days", "90", "--json"])
    assert out.exit_code == 0, out.output
    assert '"trigger": "event"' in out.output and '"days": 90' in out.output
    text = runner.invoke(args=["automation", "dry-run", str(rule_id)])
    assert text.exit_code == 0 and "last 30 days" in text.output
    missing = runner.invoke(args=["automation", "dry-run", "999999"])
    assert missing.exit_code != 0 and "No rule #999999" in missing.output
