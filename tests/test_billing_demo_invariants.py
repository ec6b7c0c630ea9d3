"""The demo's billing history keeps every billing invariant, on SQLite and PostgreSQL.

The history is produced by the billing services (sign-ups, renewals, sandbox failures and dunning,
refunds), so these hold by construction; this test is what says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from app.extensions import appbuilder, db
from app.models.commerce import (
    DunningStep,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Product,
    Promotion,
    PromotionRedemption,
    Subscription,
    SubscriptionStatus,
)
from app.services.demo_data import seed_demo_data

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def test_demo_billing_invariants(app: Flask) -> None:
    with app.app_context():
        seed_demo_data(appbuilder.sm, customers=40, seed=3, progress=False, now=NOW)
        invoices = db.session.scalars(sa.select(Invoice)).all()
        payments = db.session.scalars(sa.select(Payment)).all()
        by_invoice: dict[int, list[Payment]] = defaultdict(list)
        for payment in payments:
            by_invoice[payment.invoice_id].append(payment)
        currency = dict(
            db.session.execute(
                sa.select(Subscription.id, Product.currency).join(Product, Product.id == Subscription.product_id)
            ).all()
        )
        assert invoices and payments
        for inv in invoices:
            succeeded = [p for p in by_invoice[inv.id] if p.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)]
            assert inv.amount == inv.subtotal - inv.discount_amount, inv.id
            assert inv.currency == currency[inv.subscription_id], inv.id
            assert all(p.currency == inv.currency for p in by_invoice[inv.id]), inv.id
            # What succeeded is what the invoice says was paid; refunds likewise.
            assert sum((p.amount for p in succeeded), Decimal(0)) == inv.amount_paid, inv.id
            assert sum((p.refunded_amount for p in succeeded), Decimal(0)) == inv.amount_refunded, inv.id
            if inv.status in (InvoiceStatus.PAID, InvoiceStatus.REFUNDED):
                assert inv.paid_at is not None and inv.amount_paid == inv.amount, inv.id
            else:
                assert inv.amount_refunded == 0 and inv.amount_paid < inv.amount or inv.amount == 0, inv.id
            if inv.status == InvoiceStatus.REFUNDED:
                assert inv.amount_refunded == inv.amount_paid, inv.id
        # One invoice per subscription and period.
        keys = [(i.subscription_id, i.period_start) for i in invoices]
        assert len(keys) == len(set(keys))
        # Promotions: within their limits, counted once per redemption row.
        redemptions = dict(
            db.session.execute(
                sa.select(PromotionRedemption.promotion_id, sa.func.count()).group_by(PromotionRedemption.promotion_id)
            ).all()
        )
        for promo in db.session.scalars(sa.select(Promotion)):
            assert promo.times_redeemed == redemptions.get(promo.id, 0), promo.code
            assert promo.usage_limit is None or promo.times_redeemed <= promo.usage_limit, promo.code
        assert sum(redemptions.values()) > 0
        assert any(i.discount_amount > 0 for i in invoices)
        # The history shows the whole lifecycle: failures, dunning, partial and full refunds.
        statuses = {p.status for p in payments}
        assert {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.REFUNDED} <= statuses
        assert any(p.status == PaymentStatus.SUCCEEDED and 0 < p.refunded_amount < p.amount for p in payments)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DunningStep))
        subs = db.session.scalars(sa.select(Subscription)).all()
        assert {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED} <= {s.status for s in subs}
        for sub in subs:
            if sub.status == SubscriptionStatus.PAST_DUE:
                assert db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(DunningStep)
                    .where(DunningStep.subscription_id == sub.id, DunningStep.status == "SCHEDULED")
                ), sub.id
