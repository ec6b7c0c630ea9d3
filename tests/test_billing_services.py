"""Billing services: money, periods, the state machine, subscriptions, payments and refunds (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from app.extensions import db
from app.models.commerce import (
    DunningStep,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Subscription,
    SubscriptionStatus,
)
from app.models.compliance import AuditLog
from app.models.events import DomainEvent
from app.services.billing import money, periods, states
from app.services.billing.errors import BillingError, TransitionRefused
from app.services.billing.invoices import mark_uncollectible, void_invoice
from app.services.billing.payments import record_payment, refund_payment
from app.services.billing.states import Action, allowed_transitions
from app.services.billing.subscriptions import apply_action, cancel, create_subscription, pause, reactivate, resume
from app.services.billing.timeline import timeline
from tests.support import billing_support as bs

S = SubscriptionStatus


def _event_types() -> list[str]:
    return list(db.session.scalars(sa.select(DomainEvent.event_type).order_by(DomainEvent.id)))


# --- money and periods (no database) ---------------------------------------------------------------


def test_money_is_decimal_in_minor_units() -> None:
    assert money.quantize(Decimal("10.005"), "EUR") == Decimal("10.01")
    assert money.quantize(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert money.percent_of(Decimal("89.00"), Decimal("15"), "EUR") == Decimal("13.35")
    assert money.parse_amount("12.50", "EUR") == Decimal("12.50")
    with pytest.raises(BillingError):
        money.parse_amount(12.5, "EUR")  # a float is refused, never rounded
    with pytest.raises(BillingError):
        money.parse_amount("1.005", "EUR")
    with pytest.raises(BillingError):
        money.parse_amount("10.5", "JPY")
    with pytest.raises(BillingError):
        money.parse_amount("-1", "EUR")
    with pytest.raises(TypeError):
        money.quantize(1.5, "EUR")  # type: ignore[arg-type]


def test_periods_from_the_31st_clamp_and_spring_back() -> None:
    start = dt.date(2026, 1, 31)
    steps = [periods.add_months(start, n, 31) for n in range(1, 4)]
    assert steps == [dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30)]
    assert periods.add_months(dt.date(2027, 12, 31), 2, 31) == dt.date(2028, 2, 29)  # leap year
    assert periods.period_after(dt.date(2026, 2, 28), 1, 31) == (dt.date(2026, 2, 28), dt.date(2026, 3, 31))


def test_leap_day_anchor() -> None:
    assert periods.add_months(dt.date(2024, 2, 29), 12, 29) == dt.date(2025, 2, 28)
    assert periods.add_months(dt.date(2025, 2, 28), 1, 29) == dt.date(2025, 3, 29)
    assert periods.add_months(dt.date(2024, 2, 29), 48, 29) == dt.date(2028, 2, 29)


def test_customer_today_follows_the_zone_across_dst() -> None:
    ny = periods.zone("America/New_York")
    # 2026-03-08 is the spring-forward day in New York: 04:30 UTC is still the 7th there, 05:30 the 8th... in EST.
    assert periods.local_today(ny, dt.datetime(2026, 3, 8, 4, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 7)
    assert periods.local_today(ny, dt.datetime(2026, 3, 8, 5, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 8)
    # After the change (EDT, UTC-4) the date turns at 04:00 UTC.
    assert periods.local_today(ny, dt.datetime(2026, 3, 9, 3, 59, tzinfo=dt.UTC)) == dt.date(2026, 3, 8)
    assert periods.local_today(ny, dt.datetime(2026, 3, 9, 4, 0, tzinfo=dt.UTC)) == dt.date(2026, 3, 9)
    assert periods.zone("Not/AZone") == periods.UTC


# --- subscriptions and the state machine ---------------------------------------------------------------


def test_create_with_promotion_issues_a_discounted_first_invoice(app_ctx: Flask) -> None:
    cust, prod = bs.customer(), bs.product("89.00")
    promo = bs.promotion("WELCOME15", value="15.00", limit=5)
    sub, invoice = create_subscription(db.session, cust, prod.id, now=bs.at("2026-01-31"), promotion_code="welcome15")
    db.session.commit()
    assert sub.status == S.ACTIVE and sub.billing_anchor_day == 31
    assert (sub.current_period_start, sub.current_period_end) == (dt.date(2026, 1, 31), dt.date(2026, 2, 28))
    assert sub.renewal_date == dt.date(2026, 2, 28)
    assert invoice is not None and invoice.status == InvoiceStatus.OPEN
    assert (invoice.subtotal, invoice.discount_amount, invoice.amount) == (
        Decimal("89.00"),
        Decimal("13.35"),
        Decimal("75.65"),
    )
    assert invoice.promotion_id == promo.id and invoice.currency == "EUR"
    db.session.refresh(promo)
    assert promo.times_redeemed == 1
    assert _event_types() == ["invoice.issued", "subscription.created"]


def test_trial_starts_without_an_invoice(app_ctx: Flask) -> None:
    sub, invoice = create_subscription(db.session, bs.customer(), bs.product(trial_days=14).id, now=bs.at("2026-03-01"))
    db.session.commit()
    assert invoice is None and sub.status == S.TRIAL
    assert sub.trial_end == sub.renewal_date == dt.date(2026, 3, 15)


def test_invalid_promotions_are_refused_and_nothing_is_written(app_ctx: Flask) -> None:
    cust, prod = bs.customer(), bs.product()
    bs.promotion("OLD", start="2025-01-01", end="2025-02-01")
    bs.promotion("DOLLARS", kind="FIXED", value="5.00", currency="USD")
    bs.promotion("GONE", limit=0)
    for code, reason in (
        ("NOPE", "invalid"),
        ("OLD", "promotion_expired"),
        ("DOLLARS", "currency_mismatch"),
        ("GONE", "promotion_used_up"),
    ):
        with pytest.raises(BillingError) as refused:
            create_subscription(db.session, cust, prod.id, now=bs.at("2026-03-01"), promotion_code=code)
        assert refused.value.code == reason and refused.value.field == "promotion_code"
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0


def test_allowed_and_forbidden_transitions(app_ctx: Flask) -> None:
    now = bs.at("2026-03-10")
    sub, _ = create_subscription(db.session, bs.customer(), bs.product().id, now=now)
    db.session.commit()
    today = now.date()
    assert [t.action for t in allowed_transitions(sub, today)] == [
        Action.PAUSE,
        Action.CANCEL_AT_PERIOD_END,
        Action.CANCEL_NOW,
    ]
    with pytest.raises(TransitionRefused):
        resume(db.session, sub, now=now)
    with pytest.raises(TransitionRefused):
        reactivate(db.session, sub, now=now)
    pause(db.session, sub, until=dt.date(2026, 4, 1), now=now)
    db.session.commit()
    assert [t.action for t in allowed_transitions(sub, today)] == [Action.RESUME, Action.CANCEL_NOW]
    with pytest.raises(TransitionRefused) as refused:
        pause(db.session, sub, until=dt.date(2026, 4, 2), now=now)
    # People read labels, not codes, and in their own language.
    assert str(refused.value) == "A subscription that is “Paused” cannot do this: Pause."
    with force_locale("es"):
        assert str(refused.value.message) == "Una suscripción en estado «En pausa» no puede hacer esto: Pausar."
    with pytest.raises(TransitionRefused) as refused:
        states.set_status(db.session, sub, S.PAST_DUE, reason="test", at=now)  # PAUSED -> PAST_DUE is not a step
    assert str(refused.value) == "A subscription cannot go from “Paused” to “Past due”."
    db.session.rollback()
    resume(db.session, sub, now=now)
    cancel(db.session, sub, now=now, at_period_end=True)
    db.session.commit()
    assert sub.status == S.ACTIVE and sub.cancel_at_period_end
    assert [t.action for t in allowed_transitions(sub, today)] == [Action.CANCEL_NOW, Action.REACTIVATE]
    apply_action(db.session, sub, "reactivate", now=now)
    apply_action(db.session, sub, "cancel_now", now=now)
    db.session.commit()
    assert sub.status == S.CANCELLED and sub.end_date == sub.current_period_end
    # Within the paid period a cancellation can be withdrawn; an expired one never can.
    apply_action(db.session, sub, Action.REACTIVATE, now=now)
    db.session.commit()
    assert sub.status == S.ACTIVE and sub.end_date is None and sub.renewal_date == sub.current_period_end
    sub.status = S.EXPIRED
    assert allowed_transitions(sub, today) == []
    with pytest.raises(BillingError):
        apply_action(db.session, sub, "explode", now=now)
    db.session.rollback()
    states_seen = [
        log.metadata_json.get("to")
        for log in db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "subscription.status").order_by(AuditLog.id)
        )
    ]
    assert states_seen == ["ACTIVE", "PAUSED", "ACTIVE", "CANCELLED", "ACTIVE"]


def test_pause_date_must_be_ahead(app_ctx: Flask) -> None:
    now = bs.at("2026-03-10")
    sub, _ = create_subscription(db.session, bs.customer(), bs.product().id, now=now)
    with pytest.raises(BillingError) as refused:
        pause(db.session, sub, until=dt.date(2026, 3, 10), now=now)
    assert refused.value.field == "pause_until"


# --- payments, refunds, invoices ----------------------------------------------------------------------


def _open_invoice(price: str = "100.00", currency: str = "EUR") -> Invoice:
    _, invoice = create_subscription(db.session, bs.customer(), bs.product(price, currency).id, now=bs.at("2026-03-01"))
    db.session.commit()
    assert invoice is not None
    return invoice


def test_partial_payments_then_paid_in_one_transaction(app_ctx: Flask) -> None:
    invoice = _open_invoice()
    record_payment(db.session, invoice, amount=Decimal("40.00"), currency="EUR", now=bs.at("2026-03-01"))
    db.session.commit()
    assert invoice.status == InvoiceStatus.OPEN and invoice.amount_paid == Decimal("40.00") and invoice.paid_at is None
    with pytest.raises(BillingError):  # more than what is still due
        record_payment(db.session, invoice, amount="60.01", currency="EUR", now=bs.at("2026-03-02"))
    db.session.rollback()
    record_payment(db.session, invoice, amount="60.00", currency="EUR", now=bs.at("2026-03-02"))
    db.session.commit()
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_paid == invoice.amount
    assert invoice.paid_at == bs.at("2026-03-02")
    assert _event_types().count("invoice.paid") == 1 and _event_types().count("payment.succeeded") == 2
    with pytest.raises(BillingError):
        record_payment(db.session, invoice, amount="1.00", currency="EUR", now=bs.at("2026-03-03"))


def test_currency_mismatch_is_refused(app_ctx: Flask) -> None:
    invoice = _open_invoice(currency="GBP")
    with pytest.raises(BillingError) as refused:
        record_payment(db.session, invoice, amount="100.00", currency="EUR", now=bs.at("2026-03-01"))
    assert refused.value.code == "currency_mismatch"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_partial_then_full_refund(app_ctx: Flask) -> None:
    invoice = _open_invoice()
    payment = record_payment(db.session, invoice, amount="100.00", currency="EUR", now=bs.at("2026-03-01"))
    db.session.commit()
    refund_payment(db.session, payment, amount=Decimal("30.00"), now=bs.at("2026-03-05"))
    db.session.commit()
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.SUCCEEDED, Decimal("30.00"))
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_refunded == Decimal("30.00")
    with pytest.raises(BillingError):
        refund_payment(db.session, payment, amount="70.01", now=bs.at("2026-03-06"))
    db.session.rollback()
    refund_payment(db.session, payment, now=bs.at("2026-03-06"))  # the rest
    db.session.commit()
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_amount == payment.amount
    assert invoice.status == InvoiceStatus.REFUNDED and invoice.amount_refunded == invoice.amount_paid
    assert _event_types().count("payment.refunded") == 2
    with pytest.raises(BillingError):
        refund_payment(db.session, payment, now=bs.at("2026-03-07"))


def test_void_and_uncollectible_only_from_open(app_ctx: Flask) -> None:
    invoice = _open_invoice()
    void_invoice(db.session, invoice, now=bs.at("2026-03-02"))
    db.session.commit()
    assert invoice.status == InvoiceStatus.VOID and invoice.voided_at is not None
    with pytest.raises(BillingError):
        mark_uncollectible(db.session, invoice, now=bs.at("2026-03-03"))
    other = _open_invoice()
    record_payment(db.session, other, amount="10.00", currency="EUR", now=bs.at("2026-03-02"))
    with pytest.raises(BillingError):
        void_invoice(db.session, other, now=bs.at("2026-03-02"))


def test_failed_payment_starts_dunning_and_timeline_shows_it(app_ctx: Flask) -> None:
    invoice = _open_invoice()
    record_payment(
        db.session,
        invoice,
        amount="100.00",
        currency="EUR",
        status="FAILED",
        failure_reason="card_declined",
        now=bs.at("2026-03-01"),
    )
    db.session.commit()
    sub = invoice.subscription
    assert sub.status == S.PAST_DUE
    steps = db.session.scalars(sa.select(DunningStep).order_by(DunningStep.attempt)).all()
    assert [s.scheduled_for.date() for s in steps] == [dt.date(2026, 3, 2), dt.date(2026, 3, 4), dt.date(2026, 3, 8)]
    # A manual payment recovers it: steps cancelled, subscription ACTIVE again.
    record_payment(db.session, invoice, amount="100.00", currency="EUR", now=bs.at("2026-03-03"))
    db.session.commit()
    assert sub.status == S.ACTIVE and {s.status for s in steps} == {"CANCELLED"}
    kinds = [(e.kind, e.what) for e in timeline(db.session, sub.id)]
    assert ("payment", "failed") in kinds and ("payment", "succeeded") in kinds and ("invoice", "paid") in kinds
    assert ("dunning", "attempt_1") in kinds and ("state", "status") in kinds
    entries = timeline(db.session, sub.id)
    assert entries == sorted(entries, key=lambda e: (e.at, e.kind), reverse=True)
