"""Detected events (missed plan days, overdue invoices, SLA breaches) and the dispatcher, on both databases."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.cron import CRON_TABLE, detect_sla_breaches, dispatch_domain_events
from app.models.base import utcnow
from app.models.commerce import Invoice, InvoiceStatus, Product, ProductCategory, Subscription, SubscriptionStatus
from app.models.engagement import SupportTicket, TicketPriority, TicketStatus
from app.models.events import DomainEvent
from app.models.jobs import JobRun
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem, PlanStatus
from app.services import events
from app.services.automation.jobs import RUN_KIND as AUTOMATION_RUN
from app.services.events import catalogue, detectors, dispatch
from app.services.events.handlers import handlers, register_handler, unregister_handler
from app.services.events.jobs import DETECT_KIND, DISPATCH_KIND
from app.services.jobs.context import run_inline
from app.services.jobs.queues import get_queue
from app.services.jobs.runs import start_job
from tests.support.jobworker import jobs_env  # noqa: F401  (fixture)
from tests.support.plan_support import coach_actor, make_catalogue, make_customer, make_program
from tests.support.web import login

NOW = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)  # Kiritimati (UTC+14) is already on 11 March; LA on 10 March


def _detected(event_type: str) -> list[DomainEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(DomainEvent).where(DomainEvent.event_type == event_type).order_by(DomainEvent.id))
    )


def _plan(customer, program_id, status=PlanStatus.ACTIVE) -> CustomerPlan:
    plan = CustomerPlan(customer_id=customer, program_id=program_id, start_date=dt.date(2027, 3, 1), status=status)
    db.session.add(plan)
    db.session.flush()
    return plan


def _item(plan, day, state=CompletionState.PENDING) -> PlanItem:
    item = PlanItem(
        plan_id=plan.id,
        scheduled_date=day,
        item_type=ItemType.EXERCISE,
        item_id=3,
        completion_state=state,
        completion_at=NOW if state == CompletionState.COMPLETED else None,
    )
    db.session.add(item)
    db.session.flush()
    return item


def test_missed_plan_days_are_read_in_each_customers_zone_and_emitted_once(app_ctx):
    cat = make_catalogue()
    program = make_program(coach_actor(), [(ItemType.EXERCISE, cat.exercises[0], 0, 0)])
    kiritimati = make_customer("Kiri", timezone="Pacific/Kiritimati")
    la = make_customer("Lou", timezone="America/Los_Angeles")
    nowhere = make_customer("Nemo", timezone="Not/AZone")  # an unknown zone counts as UTC
    k_plan, la_plan, n_plan = _plan(kiritimati, program.id), _plan(la, program.id), _plan(nowhere, program.id)
    paused = _plan(make_customer("Pat"), program.id, PlanStatus.PAUSED)
    missed = [
        _item(k_plan, dt.date(2027, 3, 10)),  # its day is over in Kiritimati
        _item(la_plan, dt.date(2027, 3, 9)),
        _item(n_plan, dt.date(2027, 3, 9)),
    ]
    _item(la_plan, dt.date(2027, 3, 10))  # still today in Los Angeles
    _item(n_plan, dt.date(2027, 3, 10))  # still today in UTC
    _item(k_plan, dt.date(2027, 3, 9), CompletionState.COMPLETED)
    _item(k_plan, dt.date(2027, 3, 8), CompletionState.SKIPPED)
    _item(paused, dt.date(2027, 3, 9))
    _item(la_plan, dt.date(2027, 2, 1))  # beyond the lookback window
    db.session.commit()

    first = detectors.detect(db.session, "missed_plan_items", now=NOW, lookback_days=7, batch_size=2)
    db.session.commit()
    assert first.emitted == 3 and first.batches == 2
    again = detectors.detect(db.session, "missed_plan_items", now=NOW, lookback_days=7)
    db.session.commit()
    assert again.emitted == 0
    found = _detected(events.PLAN_ITEM_MISSED)
    assert sorted(e.payload["plan_item_id"] for e in found) == sorted(i.id for i in missed)
    owner = {k_plan.id: kiritimati, la_plan.id: la, n_plan.id: nowhere}
    for event in found:
        assert catalogue.CATALOGUE[event.event_type].errors(event.payload) == []
        assert event.customer_id == owner[event.payload["plan_id"]]
        assert event.dedupe_key == f"plan_item:{event.payload['plan_item_id']}:{event.payload['scheduled_date']}"
        assert event.payload["item_type"] == "EXERCISE" and event.dispatched_at is None
    # A day later Los Angeles' and UTC's 10 March are over too: two more, the rest untouched.
    later = detectors.detect(db.session, "missed_plan_items", now=NOW + dt.timedelta(days=1))
    db.session.commit()
    assert later.emitted == 2 and len(_detected(events.PLAN_ITEM_MISSED)) == 5


def _invoice(sub, due, status=InvoiceStatus.OPEN) -> Invoice:
    paid_at = dt.datetime.combine(due, dt.time(9), tzinfo=dt.UTC) if status == InvoiceStatus.PAID else None
    invoice = Invoice(
        subscription_id=sub.id, amount=decimal.Decimal("49.90"), currency="EUR", due_date=due, status=status,
        paid_at=paid_at,
    )  # fmt: skip
    db.session.add(invoice)
    db.session.flush()
    return invoice


def test_overdue_invoices_and_sla_breaches_are_emitted_once_each(app_ctx):
    customer = make_customer("Olga")
    product = Product(name="Coaching", category=ProductCategory.COACHING, price=decimal.Decimal("49.90"))
    db.session.add(product)
    db.session.flush()
    sub = Subscription(
        customer_id=customer, product_id=product.id, status=SubscriptionStatus.ACTIVE, start_date=dt.date(2027, 1, 1)
    )
    db.session.add(sub)
    db.session.flush()
    overdue = _invoice(sub, dt.date(2027, 3, 8))
    _invoice(sub, dt.date(2027, 3, 10))  # due today: not yet overdue
    _invoice(sub, dt.date(2027, 3, 1), InvoiceStatus.PAID)
    breached = SupportTicket(
        requester_id=customer,
        subject="Help",
        priority=TicketPriority.HIGH,
        status=TicketStatus.PENDING,
        sla_due_at=NOW - dt.timedelta(hours=2),
    )
    in_time = SupportTicket(
        requester_id=customer,
        subject="Later",
        priority=TicketPriority.LOW,
        status=TicketStatus.OPEN,
        sla_due_at=NOW + dt.timedelta(hours=2),
    )
    closed = SupportTicket(
        requester_id=customer,
        subject="Done",
        priority=TicketPriority.LOW,
        status=TicketStatus.CLOSED,
        sla_due_at=NOW - dt.timedelta(hours=5),
    )
    db.session.add_all([breached, in_time, closed])
    db.session.commit()
    for _ in range(2):
        detectors.detect(db.session, "overdue_invoices", now=NOW)
        detectors.detect(db.session, "sla_breaches", now=NOW)
        db.session.commit()
    (invoice_event,) = _detected(events.INVOICE_OVERDUE)
    assert invoice_event.customer_id == customer
    assert invoice_event.payload == {
        "invoice_id": overdue.id,
        "subscription_id": sub.id,
        "amount": 49.9,
        "currency": "EUR",
        "due_date": "2027-03-08",
    }
    (sla_event,) = _detected(events.SUPPORT_SLA_BREACHED)
    assert sla_event.customer_id == customer
    assert sla_event.payload == {
        "ticket_id": breached.id,
        "priority": "HIGH",
        "status": "PENDING",
        "sla_due_at": "2027-03-10T10:00:00+00:00",
    }
    for event in (invoice_event, sla_event):
        assert catalogue.CATALOGUE[event.event_type].errors(event.payload) == []
    with pytest.raises(ValueError, match="unknown detector"):
        detectors.detect(db.session, "lunar_phases", now=NOW)


def test_the_detect_job_resumes_from_its_checkpoint(app_ctx):
    customer = make_customer("Rita")
    tickets = [
        SupportTicket(
            requester_id=customer,
            subject=f"T{i}",
            priority=TicketPriority.NORMAL,
            status=TicketStatus.OPEN,
            sla_due_at=utcnow() - dt.timedelta(minutes=10 + i),
        )
        for i in range(5)
    ]
    db.session.add_all(tickets)
    db.session.commit()
    app_ctx.config["EVENTS_DETECT_BATCH"] = 2
    try:
        run = start_job(DETECT_KIND, {"detector": "sla_breaches"}, enqueue=False)
        finished = run_inline(run)
    finally:
        app_ctx.config.pop("EVENTS_DETECT_BATCH")
    assert finished.status == "succeeded", finished.error
    assert finished.result == {"detector": "sla_breaches", "emitted": 5, "batches": 3}
    assert finished.checkpoint == {"after": max(t.id for t in tickets), "emitted": 5}
    assert len(_detected(events.SUPPORT_SLA_BREACHED)) == 5


# --- the dispatcher ----------------------------------------------------------------------------------------


def _emit(n: int) -> list[int]:
    customer = make_customer("Disp")
    rows = [events.emit(db.session, events.SESSION_BOOKED, customer_id=customer, session_id=i + 1) for i in range(n)]
    db.session.commit()
    return [r.id for r in rows]


class Recorder:
    def __init__(self, fail_on: int | None = None):
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    def __call__(self, batch) -> None:
        ids = [e.id for e in batch]
        if self.fail_on in ids:
            self.fail_on = None  # the worker "dies" once on this batch
            raise RuntimeError("handler crashed")
        self.batches.append(ids)


@pytest.fixture
def recorder(app_ctx):
    rec = Recorder()
    register_handler(app_ctx, "test-recorder", rec)
    yield rec
    unregister_handler(app_ctx, "test-recorder")


def _undispatched() -> list[int]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(DomainEvent.id).where(DomainEvent.dispatched_at.is_(None)).order_by(DomainEvent.id)
        )
    )


def test_dispatch_hands_batches_in_id_order_and_stamps_them_once(app_ctx, recorder):
    ids = _emit(7)
    result = dispatch.dispatch_pending(db.session, handlers(), batch_size=3, commit_batch=lambda r: db.session.commit())
    assert (result.dispatched, result.batches, result.last_id) == (7, 3, ids[-1])
    assert recorder.batches == [ids[0:3], ids[3:6], ids[6:7]]
    assert _undispatched() == []
    stamps = db.session.scalars(sa.select(DomainEvent.dispatched_at)).all()
    assert all(s is not None for s in stamps)
    again = dispatch.dispatch_pending(db.session, handlers(), batch_size=3)
    assert again.dispatched == 0 and len(recorder.batches) == 3


def test_a_crashed_batch_is_left_unstamped_and_only_it_is_dispatched_again(app_ctx, recorder):
    ids = _emit(6)
    recorder.fail_on = ids[3]
    with pytest.raises(RuntimeError):
        dispatch.dispatch_pending(db.session, handlers(), batch_size=3, commit_batch=lambda r: db.session.commit())
    db.session.rollback()  # the worker's transaction dies with it
    assert _undispatched() == ids[3:]
    dispatch.dispatch_pending(db.session, handlers(), batch_size=3, commit_batch=lambda r: db.session.commit())
    assert recorder.batches == [ids[0:3], ids[3:6]]
    assert _undispatched() == []


def test_handlers_receive_only_the_types_they_asked_for(app_ctx):
    customer = make_customer("Types")
    events.emit(db.session, events.SESSION_BOOKED, customer_id=customer, session_id=1)
    events.emit(db.session, events.SESSION_NO_SHOW, customer_id=customer, session_id=1, participant_id=2)
    db.session.commit()
    seen: list[str] = []
    register_handler(
        app_ctx,
        "no-shows",
        lambda batch: seen.extend(e.event_type for e in batch),
        event_types=[events.SESSION_NO_SHOW],
    )
    try:
        with pytest.raises(ValueError, match="unknown event types"):
            register_handler(app_ctx, "bad", lambda batch: None, event_types=["session.exploded"])
        dispatch.dispatch_pending(db.session, handlers())
        db.session.commit()
    finally:
        unregister_handler(app_ctx, "no-shows")
    assert seen == [events.SESSION_NO_SHOW] and _undispatched() == []


def test_the_dispatch_job_and_its_cron_entry(app_ctx, recorder):
    ids = _emit(5)
    run = start_job(DISPATCH_KIND, {"batch_size": 2}, enqueue=False)
    progress: list[tuple[int, int | None]] = []
    finished = run_inline(run, lambda done, total: progress.append((done, total)))
    assert finished.status == "succeeded", finished.error
    assert finished.result == {"dispatched": 5, "batches": 3, "last_id": ids[-1]}
    assert progress[-1] == (5, 5) and recorder.batches == [ids[0:2], ids[2:4], ids[4:5]]


@pytest.mark.usefixtures("jobs_env")
def test_the_cron_starts_one_dispatch_run_per_minute_and_the_detectors(app):
    with app.app_context():
        first = dispatch_domain_events()
        assert dispatch_domain_events() == first  # a double tick: the same run
        # The automation engine's run dispatches the outbox and then runs the due executions.
        assert db.session.get(JobRun, first).kind == AUTOMATION_RUN
        detect = detect_sla_breaches()
        assert db.session.get(JobRun, detect).params == {"detector": "sla_breaches"}
        assert get_queue("default").count == 2
    entries = {path for path, _queue, _when in CRON_TABLE}
    for name in (
        "dispatch_domain_events",
        "detect_missed_plan_items",
        "detect_sla_breaches",
        "detect_overdue_invoices",
    ):
        assert f"app.jobs.cron.{name}" in entries


def test_two_dispatchers_take_disjoint_batches_on_postgresql(pg_app):
    with pg_app.app_context():
        ids = _emit(10)
        other = Session(bind=db.engine)
        try:
            mine = [e.id for e in dispatch.take_batch(db.session, 4)]  # locked, not committed
            theirs = [e.id for e in dispatch.take_batch(other, 4)]  # skips the locked rows
            assert mine == ids[0:4] and theirs == ids[4:8]
            other.execute(sa.update(DomainEvent).where(DomainEvent.id.in_(theirs)).values(dispatched_at=utcnow()))
            other.commit()
            db.session.commit()
            # Mine were never stamped (the batch "died"), so the next dispatcher starts with them.
            remaining = [e.id for e in dispatch.dispatch_batch(db.session, [], batch_size=10)]
            db.session.commit()
            assert remaining == ids[0:4] + ids[8:10]
        finally:
            other.close()


# --- the console list and the CLI --------------------------------------------------------------------------


def test_the_domain_events_list_is_read_only_and_filters_by_type_and_customer(app, accounts):
    with app.app_context():
        ann, ben = make_customer("Ann"), make_customer("Ben")
        events.emit(db.session, events.SESSION_BOOKED, customer_id=ann, session_id=11)
        events.emit(db.session, events.SESSION_NO_SHOW, customer_id=ben, session_id=12, participant_id=5)
        db.session.commit()
        no_show_id = db.session.scalar(
            sa.select(DomainEvent.id).where(DomainEvent.event_type == events.SESSION_NO_SHOW)
        )
    by_type = {"f_event_type": events.SESSION_NO_SHOW}
    by_customer = {"f_customer": str(ann)}
    tomorrow = {"f_occurred_at_from": (utcnow() + dt.timedelta(days=1)).date().isoformat()}
    for username in ("admin", "compliance"):
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        page = client.get("/domain-events/list/")
        assert page.status_code == 200
        assert events.SESSION_BOOKED in page.get_data(as_text=True)
        typed = client.get("/domain-events/list/", query_string=by_type).get_data(as_text=True)
        assert events.SESSION_NO_SHOW in typed and events.SESSION_BOOKED not in typed
        mine = client.get("/domain-events/list/", query_string=by_customer).get_data(as_text=True)
        assert events.SESSION_BOOKED in mine and events.SESSION_NO_SHOW not in mine
        later = client.get("/domain-events/list/", query_string=tomorrow).get_data(as_text=True)
        assert events.SESSION_BOOKED not in later and events.SESSION_NO_SHOW not in later
        shown = client.get(f"/domain-events/show/{no_show_id}")
        assert shown.status_code == 200 and "participant_id" in shown.get_data(as_text=True)
        assert client.get("/domain-events/add").status_code == 404
        assert client.get(f"/domain-events/edit/{no_show_id}").status_code == 404
    for username in ("support", "coach", "manager"):
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        assert client.get("/domain-events/list/").status_code in (302, 403)


def test_flask_events_dispatch_and_detect(app_ctx, recorder):
    ids = _emit(3)
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["events", "dispatch", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "3 events dispatched in 2 batches" in result.output
    assert recorder.batches == [ids[0:2], ids[2:3]] and _undispatched() == []
    assert runner.invoke(args=["events", "detect", "sla_breaches"]).exit_code == 0
    bad = runner.invoke(args=["events", "detect", "moon"])
    assert bad.exit_code == 2 and "missed_plan_items" in bad.output
    listed = runner.invoke(args=["events", "types"])
    assert listed.exit_code == 0 and "plan.item_missed" in listed.output and "MANUAL,WEARABLE" in listed.output
    runs = db.session.scalars(sa.select(JobRun.kind).order_by(JobRun.id)).all()
    assert runs == [DISPATCH_KIND, DETECT_KIND]
