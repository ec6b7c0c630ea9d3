"""Renewals, the daily lifecycle, dunning and concurrent promotion redemptions (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.commerce import (
    DunningStatus,
    DunningStep,
    Invoice,
    InvoiceStatus,
    PaymentStatus,
    Promotion,
    PromotionRedemption,
    Subscription,
    SubscriptionStatus,
)
from app.services.billing import lifecycle, periods
from app.services.billing.errors import BillingError
from app.services.billing.gateway import SandboxGateway
from app.services.billing.payments import charge_invoice
from app.services.billing.promotions import redeem
from app.services.billing.renewals import renew_due
from app.services.billing.retries import run_due_retries
from app.services.billing.subscriptions import cancel, create_subscription, pause
from tests.support import billing_support as bs

S = SubscriptionStatus


def _invoices(sub_id: int) -> list[Invoice]:
    return list(
        db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id).order_by(Invoice.period_start))
    )


def _sub(start: str, *, price: str = "30.00", zone: str = "UTC", trial: int = 0, code: str | None = None) -> int:
    sub, _ = create_subscription(
        db.session,
        bs.customer(zone=zone),
        bs.product(price, trial_days=trial).id,
        now=bs.at(start),
        start_date=dt.date.fromisoformat(start),
        promotion_code=code,
    )
    db.session.commit()
    return sub.id


def test_renewals_on_the_31st_and_run_twice_issue_one_invoice_per_period(app_ctx: Flask) -> None:
    sub_id = _sub("2026-01-31")
    for day in ("2026-02-28", "2026-02-28", "2026-03-31", "2026-04-30", "2026-04-30"):
        renew_due(db.session, bs.at(day))
        db.session.commit()
    starts = [(i.period_start, i.period_end) for i in _invoices(sub_id)]
    assert starts == [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2026, 2, 28), dt.date(2026, 3, 31)),
        (dt.date(2026, 3, 31), dt.date(2026, 4, 30)),
        (dt.date(2026, 4, 30), dt.date(2026, 5, 31)),
    ]
    sub = db.session.get(Subscription, sub_id)
    assert sub.renewal_date == dt.date(2026, 5, 31) and sub.current_period_start == dt.date(2026, 4, 30)
    # Even with the subscription's date put back by hand, the unique key keeps one invoice per period.
    sub.renewal_date = dt.date(2026, 4, 30)
    db.session.commit()
    result = renew_due(db.session, bs.at("2026-04-30"))
    db.session.commit()
    assert result.invoices == 0 and len(_invoices(sub_id)) == 4


def test_leap_day_anchor_and_catch_up(app_ctx: Flask) -> None:
    sub_id = _sub("2024-02-29")
    result = renew_due(db.session, bs.at("2024-06-01"))  # three periods behind: caught up, one invoice each
    db.session.commit()
    assert result.invoices == 3 and result.renewed == 1
    assert [i.period_start for i in _invoices(sub_id)] == [
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 29),
        dt.date(2024, 4, 29),
        dt.date(2024, 5, 29),
    ]
    assert periods.add_months(dt.date(2024, 2, 29), 12, 29) == dt.date(2025, 2, 28)
    assert db.session.get(Subscription, sub_id).renewal_date == dt.date(2024, 6, 29)


def test_renewal_waits_for_the_customers_today_across_dst(app_ctx: Flask) -> None:
    # Renewal due 2026-03-08 (New York's spring-forward day); at 03:00 UTC it is still the 7th there.
    sub_id = _sub("2026-02-08", zone="America/New_York")
    assert renew_due(db.session, dt.datetime(2026, 3, 8, 3, 0, tzinfo=dt.UTC)).invoices == 0
    assert renew_due(db.session, dt.datetime(2026, 3, 8, 5, 30, tzinfo=dt.UTC)).invoices == 1
    db.session.commit()
    # A customer in Auckland is a day ahead of UTC: due at 12:00 UTC on the 7th (already the 8th there).
    other = _sub("2026-02-08", zone="Pacific/Auckland")
    assert renew_due(db.session, dt.datetime(2026, 3, 7, 12, 0, tzinfo=dt.UTC)).invoices == 1
    db.session.commit()
    assert len(_invoices(sub_id)) == 2 and len(_invoices(other)) == 2


def test_trial_end_bills_the_first_period_with_the_promotion_for_its_duration(app_ctx: Flask) -> None:
    bs.promotion("TWO", value="50.00", periods=2)
    sub_id = _sub("2026-01-10", trial=14, price="40.00", code="TWO")
    for day in ("2026-01-24", "2026-02-24", "2026-03-24"):
        renew_due(db.session, bs.at(day))
        db.session.commit()
    sub = db.session.get(Subscription, sub_id)
    assert sub.status == S.ACTIVE and sub.billing_anchor_day == 24
    assert [(i.period_start.isoformat(), i.amount, i.discount_amount) for i in _invoices(sub_id)] == [
        ("2026-01-24", Decimal("20.00"), Decimal("20.00")),
        ("2026-02-24", Decimal("20.00"), Decimal("20.00")),
        ("2026-03-24", Decimal("40.00"), Decimal("0.00")),
    ]
    redemption = db.session.scalars(sa.select(PromotionRedemption)).one()
    assert redemption.periods_remaining == 0


def test_daily_lifecycle_resumes_ends_and_expires(app_ctx: Flask) -> None:
    now = bs.at("2026-03-01")
    paused, _ = create_subscription(db.session, bs.customer(), bs.product().id, now=now)
    pause(db.session, paused, until=dt.date(2026, 3, 20), now=now)
    ending, _ = create_subscription(db.session, bs.customer(), bs.product().id, now=now)
    cancel(db.session, ending, now=now, at_period_end=True)
    one_off, _ = create_subscription(db.session, bs.customer(), bs.product(interval=None, weeks=2).id, now=now)
    db.session.commit()
    ids = paused.id, ending.id, one_off.id
    assert lifecycle.resume_due(db.session, bs.at("2026-03-19")) == 0
    assert lifecycle.end_due(db.session, bs.at("2026-03-14")) == (0, 0)
    assert lifecycle.end_due(db.session, bs.at("2026-03-15")) == (0, 1)
    assert renew_due(db.session, bs.at("2026-04-01")).renewed == 0  # paused and ending ones are not renewed
    assert lifecycle.end_due(db.session, bs.at("2026-04-01")) == (1, 0)
    assert lifecycle.resume_due(db.session, bs.at("2026-04-01")) == 1
    db.session.commit()
    p, e, o = (db.session.get(Subscription, i) for i in ids)
    assert (p.status, e.status, o.status) == (S.ACTIVE, S.CANCELLED, S.EXPIRED)
    assert e.end_date == dt.date(2026, 4, 1) and o.end_date == dt.date(2026, 3, 15)
    # The renewal that fell in the pause is billed from the day it resumed (a new anchor).
    assert p.renewal_date == dt.date(2026, 4, 1) and p.billing_anchor_day == 1
    assert renew_due(db.session, bs.at("2026-04-01")).invoices == 1


def test_dunning_full_path_to_cancellation(app_ctx: Flask) -> None:
    sub_id = _sub("2026-03-01")
    gateway = SandboxGateway(False)
    assert lifecycle.collect_due(db.session, gateway, bs.at("2026-03-01")) == (0, 1)
    db.session.commit()
    assert db.session.get(Subscription, sub_id).status == S.PAST_DUE
    for day, attempted in (
        ("2026-03-01", 0),
        ("2026-03-02", 1),
        ("2026-03-04", 1),
        ("2026-03-07", 0),
        ("2026-03-08", 1),
        ("2026-03-09", 0),
    ):
        assert run_due_retries(db.session, gateway, bs.at(day)).attempted == attempted
        db.session.commit()
    sub = db.session.get(Subscription, sub_id)
    invoice = _invoices(sub_id)[0]
    assert sub.status == S.CANCELLED and invoice.status == InvoiceStatus.UNCOLLECTIBLE
    steps = db.session.scalars(sa.select(DunningStep).order_by(DunningStep.attempt)).all()
    assert [s.status for s in steps] == [DunningStatus.FAILED] * 3 and all(s.payment_id for s in steps)
    assert len(gateway.charges) == 4


def test_dunning_recovers_on_a_retry(app_ctx: Flask) -> None:
    sub_id = _sub("2026-03-01")
    gateway = SandboxGateway(["insufficient_funds", "fail", True])
    invoice = _invoices(sub_id)[0]
    payment = charge_invoice(db.session, invoice, gateway, now=bs.at("2026-03-01"))
    db.session.commit()
    assert payment.status == PaymentStatus.FAILED and payment.failure_reason == "insufficient_funds"
    run_due_retries(db.session, gateway, bs.at("2026-03-02"))
    result = run_due_retries(db.session, gateway, bs.at("2026-03-04"))
    db.session.commit()
    assert result.recovered == 1
    sub = db.session.get(Subscription, sub_id)
    steps = db.session.scalars(sa.select(DunningStep).order_by(DunningStep.attempt)).all()
    assert sub.status == S.ACTIVE and invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None
    assert [s.status for s in steps] == [DunningStatus.FAILED, DunningStatus.SUCCEEDED, DunningStatus.CANCELLED]


def test_usage_limit_is_enforced_by_the_conditional_update(app_ctx: Flask) -> None:
    promo = bs.promotion("LAST", limit=1)
    first = _sub("2026-03-01", code="LAST")
    with pytest.raises(BillingError) as refused:
        _sub("2026-03-01", code="LAST")
    assert refused.value.code == "promotion_used_up"
    db.session.rollback()
    db.session.refresh(promo)
    assert promo.times_redeemed == 1
    assert db.session.scalar(sa.select(PromotionRedemption.subscription_id)) == first


def test_two_concurrent_redemptions_of_the_last_use(pg_app: Flask) -> None:
    """Two sessions race for the last use on PostgreSQL: exactly one wins, the limit holds."""
    with pg_app.app_context():
        promo = bs.promotion("RACE", limit=3)
        promo.times_redeemed = 2
        subs = [_sub("2026-03-01"), _sub("2026-03-01")]
        db.session.commit()
        promo_id = promo.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def client(sub_id: int) -> None:
        with pg_app.app_context():
            try:
                promotion = db.session.get(Promotion, promo_id)
                sub = db.session.get(Subscription, sub_id)
                barrier.wait(timeout=30)
                redeem(db.session, promotion, sub, bs.at("2026-03-01"))
                db.session.commit()
                outcomes.append("won")
            except BillingError as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=client, args=(s,)) for s in subs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["promotion_used_up", "won"]
    with pg_app.app_context():
        assert db.session.get(Promotion, promo_id).times_redeemed == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PromotionRedemption)) == 1
