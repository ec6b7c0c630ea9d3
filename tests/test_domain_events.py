"""Domain events: the catalogue, emit's checks, and the services and console forms that emit them."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from app.extensions import db
from app.models.analytics import MetricSource, ProgressMetric
from app.models.base import utcnow
from app.models.commerce import (
    Product,
    ProductCategory,
    Subscription,
    SubscriptionStatus,
)
from app.models.engagement import SupportTicket, TicketPriority, TicketStatus
from app.models.events import DomainEvent
from app.models.identity import Consent
from app.models.training import Badge, CompletionState, CustomerBadge, CustomerPlan, ItemType, PlanItem, PlanStatus
from app.services import console_actions, events
from app.services.automation.condition_tree import OPERATORS_BY_KIND
from app.services.events import catalogue, console_writes
from app.services.training import plans
from tests.support.plan_support import coach_actor, make_catalogue, make_customer, make_program
from tests.support.web import csrf_token, login

ISSUE_TRIGGERS = {
    "plan.item_completed",
    "plan.item_missed",
    "plan.assigned",
    "subscription.created",
    "subscription.paused",
    "subscription.cancelled",
    "subscription.renewed",
    "invoice.overdue",
    "payment.failed",
    "session.booked",
    "session.cancelled",
    "session.no_show",
    "session.waitlist_promoted",
    "support.ticket_created",
    "support.sla_breached",
    "progress.metric_recorded",
    "consent.revoked",
    "badge.awarded",
}


def _events(event_type: str | None = None) -> list[DomainEvent]:
    db.session.expire_all()
    stmt = sa.select(DomainEvent).order_by(DomainEvent.id)
    if event_type:
        stmt = stmt.where(DomainEvent.event_type == event_type)
    return list(db.session.scalars(stmt))


def _valid(event: DomainEvent) -> None:
    assert catalogue.CATALOGUE[event.event_type].errors(event.payload) == [], (event.event_type, event.payload)


# --- the catalogue -----------------------------------------------------------------------------------------


def test_the_catalogue_covers_every_trigger_of_the_issue_with_valid_schemas_and_labels(app_ctx):
    assert ISSUE_TRIGGERS <= catalogue.EVENT_TYPES
    assert events.EVENT_TYPES == catalogue.EVENT_TYPES
    for spec in catalogue.CATALOGUE.values():
        Draft202012Validator.check_schema(spec.schema())
        assert spec.schema()["additionalProperties"] is False
        assert str(spec.label) and str(spec.description) and str(spec.label) != spec.name
        fields = spec.condition_fields()
        assert fields[0].name == "customer_id" and fields[0].kind == catalogue.ID
        for field in fields:
            assert field.kind in catalogue.KINDS and str(field.label)
            if field.kind == catalogue.ENUM:
                assert field.values
            # No free text: every string is an id, code, date or an enum value.
            assert field.schema().get("type") in ("integer", "number", "string", "boolean")
    described = catalogue.describe_all()
    assert [d["label"].casefold() for d in described] == sorted(d["label"].casefold() for d in described)


def test_condition_fields_carry_their_types(app_ctx):
    metric = catalogue.CATALOGUE[events.PROGRESS_METRIC_RECORDED]
    value = metric.field("value")
    assert value.kind == catalogue.NUMBER and value.unit_field == "unit"
    assert metric.field("source").values == ("MANUAL", "WEARABLE")
    # The rule condition language's kinds (automation.condition_tree), each with its operators there.
    assert (value.rule_kind, metric.field("metric_type").rule_kind, metric.field("source").rule_kind) == (
        "number",
        "text",
        "enum",
    )
    start_week = catalogue.CATALOGUE[events.PLAN_ASSIGNED].field("start_week")
    assert start_week.rule_kind == "integer"
    for spec in catalogue.CATALOGUE.values():
        assert all(f.rule_kind in OPERATORS_BY_KIND for f in spec.condition_fields())
    assert catalogue.CATALOGUE[events.INVOICE_OVERDUE].field("due_date").kind == catalogue.DATE
    names = [f.name for f in catalogue.CATALOGUE[events.BADGE_AWARDED].condition_fields()]
    assert "customer_badge_id" not in names and "badge_code" in names


def test_emit_refuses_unknown_types_bad_payloads_and_a_missing_subject(app_ctx):
    customer = uuid.uuid4()
    with pytest.raises(events.EventRefused, match="unknown"):
        events.emit(db.session, "plan.exploded", customer_id=customer, plan_id=1)
    with pytest.raises(events.EventRefused, match="required"):
        events.emit(db.session, events.SESSION_BOOKED, session_id=3)
    with pytest.raises(events.EventRefused, match="session_id"):
        events.emit(db.session, events.SESSION_BOOKED, customer_id=customer, session_id="three")
    with pytest.raises(events.EventRefused, match="Additional properties"):
        events.emit(db.session, events.SESSION_BOOKED, customer_id=customer, session_id=3, note="call me")
    with pytest.raises(events.EventRefused, match="priority"):
        events.emit(
            db.session, events.SUPPORT_TICKET_CREATED, customer_id=customer, ticket_id=1, priority="SOON", status="OPEN"
        )
    with pytest.raises(events.EventRefused, match="start_date"):
        events.emit(
            db.session,
            events.PLAN_ASSIGNED,
            customer_id=customer,
            plan_id=1,
            program_id=2,
            start_date="next monday",
            start_week=1,
        )
    assert not db.session.new
    # Session-wide events have no customer; typed values become JSON.
    event = events.emit(db.session, events.SESSION_CANCELLED, session_id=5)
    assert event.payload == {"session_id": 5}
    typed = events.emit(
        db.session,
        events.PLAN_ASSIGNED,
        customer_id=customer,
        plan_id=1,
        program_id=2,
        start_date=dt.date(2027, 1, 4),
        start_week=1,
    )
    assert typed.payload["start_date"] == "2027-01-04"
    db.session.rollback()


# --- services ----------------------------------------------------------------------------------------------


def _program_and_customers(n: int = 2):
    cat = make_catalogue()
    coach = coach_actor()
    program = make_program(coach, [(ItemType.EXERCISE, cat.exercises[0], 0, 0), (ItemType.MEAL, cat.meals[0], 0, 2)])
    customers = [make_customer(f"Client {i}", coach_id=coach.user_id) for i in range(n)]
    return coach, program, customers


def test_a_rolled_back_change_announces_nothing(app_ctx):
    sub = _subscription(make_customer("Ann"))
    assert console_actions.pause_subscriptions(db.session, [sub]) == 1
    db.session.flush()
    assert len(list(db.session.scalars(sa.select(DomainEvent)))) == 1  # in the open transaction
    db.session.rollback()
    assert _events() == []
    assert db.session.get(Subscription, sub.id).status == SubscriptionStatus.ACTIVE


def test_assigning_emits_one_plan_assigned_per_new_plan_with_its_ids(app_ctx):
    coach, program, customers = _program_and_customers()
    result = plans.assign_program(coach, program.id, customers, start_date=dt.date(2027, 2, 1))
    db.session.commit()
    found = _events(events.PLAN_ASSIGNED)
    assert len(found) == 2 == result.created
    by_customer = {e.customer_id: e for e in found}
    assert set(by_customer) == set(customers)
    plan_ids = dict(db.session.execute(sa.select(CustomerPlan.customer_id, CustomerPlan.id)).all())
    for customer, event in by_customer.items():
        assert event.payload == {
            "plan_id": plan_ids[customer],
            "program_id": program.id,
            "start_date": "2027-02-01",
            "start_week": 1,
        }
        _valid(event)
    # Assigning the same program and start again creates no plan, so announces nothing.
    again = plans.assign_program(coach, program.id, customers, start_date=dt.date(2027, 2, 1))
    db.session.commit()
    assert again.created == 0 and len(_events(events.PLAN_ASSIGNED)) == 2


def _subscription(customer: uuid.UUID, status=SubscriptionStatus.ACTIVE) -> Subscription:
    product = Product(
        name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("49.90"), interval_months=1
    )
    db.session.add(product)
    db.session.flush()
    sub = Subscription(customer_id=customer, product_id=product.id, status=status, start_date=dt.date(2027, 1, 1))
    db.session.add(sub)
    db.session.commit()
    return sub


def test_bulk_pause_emits_one_subscription_paused_per_paused_subscription(app_ctx):
    a, b = make_customer("Ann"), make_customer("Ben")
    active, cancelled = _subscription(a), _subscription(b, SubscriptionStatus.CANCELLED)
    assert console_actions.pause_subscriptions(db.session, [active, cancelled]) == 1
    db.session.commit()
    (event,) = _events(events.SUBSCRIPTION_PAUSED)
    assert event.customer_id == a
    assert event.payload == {
        "subscription_id": active.id,
        "product_id": active.product_id,
        "pause_until": active.pause_until.isoformat(),
    }


# --- console forms -----------------------------------------------------------------------------------------


def _save_like_a_form(item, *, is_new: bool, change=None) -> None:
    """What the record views do: previous values before the flush, announce after it, one commit."""
    if is_new:
        db.session.add(item)
    elif change:
        change(item)
    before = console_writes.previous(db.session, item)
    db.session.flush()
    console_writes.announce(db.session, item, is_new=is_new, before=before)
    db.session.commit()


def test_console_writes_announce_each_trigger_once_with_its_payload(app_ctx):
    customer = make_customer("Cleo")
    when = utcnow().replace(microsecond=0)
    metric = ProgressMetric(
        customer_id=customer,
        metric_type="weight",
        value=decimal.Decimal("81.5"),
        unit="kg",
        source=MetricSource.MANUAL,
        recorded_at=when,
    )
    _save_like_a_form(metric, is_new=True)
    ticket = SupportTicket(
        requester_id=customer, subject="Cannot log in", priority=TicketPriority.HIGH, status=TicketStatus.OPEN
    )
    _save_like_a_form(ticket, is_new=True)
    badge = Badge(code="STREAK_30", name="30 days", criteria_json={"kind": "STREAK", "threshold": 30})
    db.session.add(badge)
    db.session.commit()
    award = CustomerBadge(customer_id=customer, badge_id=badge.id)
    _save_like_a_form(award, is_new=True)
    consent = Consent(
        user_id=customer,
        consent_type="marketing",
        granted_at=when - dt.timedelta(days=3),
        metadata_json={"source": "web"},
    )
    _save_like_a_form(consent, is_new=True)  # granting is no trigger
    _save_like_a_form(consent, is_new=False, change=lambda c: setattr(c, "revoked_at", when))
    _save_like_a_form(consent, is_new=False, change=lambda c: setattr(c, "consent_type", "marketing"))

    by_type = {e.event_type: e for e in _events()}
    assert sorted(by_type) == sorted(
        [events.PROGRESS_METRIC_RECORDED, events.SUPPORT_TICKET_CREATED, events.BADGE_AWARDED, events.CONSENT_REVOKED]
    )
    assert len(_events()) == 4
    assert by_type[events.PROGRESS_METRIC_RECORDED].payload == {
        "metric_id": metric.id,
        "metric_type": "weight",
        "value": 81.5,
        "unit": "kg",
        "source": "MANUAL",
        "recorded_at": when.isoformat(),
    }
    assert by_type[events.SUPPORT_TICKET_CREATED].payload == {
        "ticket_id": ticket.id,
        "priority": "HIGH",
        "status": "OPEN",
    }
    assert by_type[events.BADGE_AWARDED].payload == {
        "customer_badge_id": award.id,
        "badge_id": badge.id,
        "badge_code": "STREAK_30",
    }
    assert by_type[events.CONSENT_REVOKED].payload["consent_id"] == consent.id
    for event in by_type.values():
        assert event.customer_id == customer
        _valid(event)


def test_console_writes_announce_plan_item_completion(app_ctx):
    customer = make_customer("Dora")
    coach, program, _ = _program_and_customers(0)
    plan = CustomerPlan(
        customer_id=customer, program_id=program.id, start_date=dt.date(2027, 1, 4), status=PlanStatus.ACTIVE
    )
    db.session.add(plan)
    db.session.flush()
    item = PlanItem(
        plan_id=plan.id,
        scheduled_date=dt.date(2027, 1, 4),
        item_type=ItemType.EXERCISE,
        item_id=7,
        completion_state=CompletionState.PENDING,
    )
    db.session.add(item)
    db.session.commit()

    def mark(state):
        def change(i):
            i.completion_state, i.completion_at = state, utcnow()

        return change

    _save_like_a_form(item, is_new=False, change=mark(CompletionState.PARTIAL))
    _save_like_a_form(item, is_new=False, change=mark(CompletionState.COMPLETED))
    _save_like_a_form(item, is_new=False, change=lambda i: setattr(i, "feedback_text", "felt good"))

    found = _events()
    assert [e.event_type for e in found] == [events.PLAN_ITEM_COMPLETED]
    (completed,) = found
    assert completed.payload == {
        "plan_id": plan.id,
        "plan_item_id": item.id,
        "item_type": "EXERCISE",
        "item_id": 7,
        "scheduled_date": "2027-01-04",
    }
    for event in found:
        assert event.customer_id == customer
        _valid(event)


def test_the_console_form_emits_in_its_own_transaction_and_a_refused_save_emits_nothing(app, accounts):
    with app.app_context():
        customer = make_customer("Eve")
        consent = Consent(
            user_id=customer,
            consent_type="marketing",
            granted_at=utcnow() - dt.timedelta(days=2),
            metadata_json={"source": "web"},
        )
        db.session.add(consent)
        db.session.commit()
        consent_id = consent.id
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    token = csrf_token(client, "/support-tickets/add")
    data = {
        "requester": str(customer),
        "subject": "Refund please",
        "priority": "URGENT",
        "status": "OPEN",
        "csrf_token": token,
    }
    assert client.post("/support-tickets/add", data=data).status_code == 302
    # Revoked before granted: the CHECK constraint refuses the save, and its event goes with it.
    token = csrf_token(client, f"/consents/edit/{consent_id}")
    bad = {
        "user": str(customer),
        "consent_type": "marketing",
        "granted_at": (utcnow() - dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S"),
        "revoked_at": (utcnow() - dt.timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S"),
        "metadata_json": '{"source": "web"}',
        "csrf_token": token,
    }
    client.post(f"/consents/edit/{consent_id}", data=bad)
    with app.app_context():
        found = _events()
        assert [e.event_type for e in found] == [events.SUPPORT_TICKET_CREATED]
        ticket_id = db.session.scalar(sa.select(SupportTicket.id).where(SupportTicket.requester_id == customer))
        assert found[0].payload == {"ticket_id": ticket_id, "priority": "URGENT", "status": "OPEN"}
        assert db.session.get(Consent, consent_id).revoked_at is None
