"""Commerce: products, promotions, subscriptions with monthly invoices, payments with failures and refunds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.models.commerce import Invoice, Payment, Product, Promotion, Subscription
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, insert_returning_ids, insert_rows

CENT = Decimal("0.01")


def seed_catalogue(ctx: Ctx) -> None:
    rows = [
        {
            "name": name,
            "category": category,
            "description": f"{name}: " + ", ".join(meta.get("features", [])) + ".",
            "price": Decimal(price),
            "currency": currency,
            "duration_weeks": weeks,
            "interval_months": 1 if recurring else None,
            "trial_days": meta.get("trial_days", 0),
            "metadata_json": meta,
        }
        for name, category, price, currency, weeks, recurring, meta in cat.PRODUCTS
    ]
    ctx.ids["product"] = insert_returning_ids(Product, rows)
    promos = []
    for code, kind, value, start_ago, duration, limit in cat.PROMOTIONS:
        start = ctx.today - dt.timedelta(days=start_ago)
        promos.append(
            {
                "code": code,
                "discount_type": kind,
                "value": Decimal(value),
                "start_date": start,
                "end_date": start + dt.timedelta(days=duration) if duration else None,
                "usage_limit": limit,
                "currency": "EUR" if kind == "FIXED" else None,
            }
        )
    ctx.ids["promotion"] = insert_returning_ids(Promotion, promos)


def _product_for(ctx: Ctx, locale: str, timezone: str) -> int:
    """Index into cat.PRODUCTS: customers are billed in their own currency where we sell in it."""
    rng = ctx.rng
    if locale == "en" and timezone == "Europe/London":
        return 2 if ctx.chance(0.7) else rng.choice((6, 8))
    if timezone.startswith("America/") and locale == "en":
        return 3
    return int(ctx.weighted({"0": 34, "1": 14, "4": 10, "5": 16, "6": 9, "7": 9, "8": 5, "9": 3}))


def seed_billing(ctx: Ctx) -> None:
    rng = ctx.rng
    subs = []
    sub_meta = []  # (customer, product index, end moment, status)
    for c in ctx.customers:
        idx = _product_for(ctx, c.locale, c.timezone)
        name, category, price, currency, weeks, recurring, meta = cat.PRODUCTS[idx]
        start = c.signup.date()
        trial_days = meta.get("trial_days", 0)
        if recurring:
            if c.churned_at is not None:
                end = c.churned_at.date()
                status = "CANCELLED" if ctx.chance(0.8) else "EXPIRED"
                renewal = None
            else:
                end = None
                age = (ctx.today - start).days
                status = "ACTIVE"
                if trial_days and age < trial_days:
                    status = "TRIAL"
                elif ctx.chance(0.05):
                    status = "PAUSED"
                elif ctx.chance(0.04):
                    status = "PAST_DUE"
                renewal = _next_month_day(start, ctx.today)
        else:
            end = start + dt.timedelta(weeks=weeks or 4)
            status = "EXPIRED" if end < ctx.today else "ACTIVE"
            if c.churned_at is not None and end > c.churned_at.date() and ctx.chance(0.3):
                status = "CANCELLED"
                end = max(start, c.churned_at.date())
            renewal = None
        subs.append(
            {
                "customer_id": c.id,
                "product_id": ctx.ids["product"][idx],
                "status": status,
                "start_date": start,
                "end_date": end,
                "renewal_date": renewal,
                "pause_until": ctx.today + dt.timedelta(days=rng.randint(7, 45)) if status == "PAUSED" else None,
                "created_at": c.signup,
            }
        )
        sub_meta.append((c, idx, status, trial_days if recurring else 0))
    sub_ids = ctx.ids["subscription"] = insert_returning_ids(Subscription, subs)

    invoices: list[dict] = []
    inv_meta: list[tuple[str, str]] = []  # (payment outcome plan, method)
    seq = 0
    for sub_id, sub, (_c, idx, status, trial_days) in zip(sub_ids, subs, sub_meta, strict=True):
        _, _, price, currency, _, recurring, _ = cat.PRODUCTS[idx]
        amount = Decimal(price)
        if ctx.chance(0.15):  # a promotion on the first invoice
            amount = (amount * Decimal("0.85")).quantize(CENT)
        method = ctx.weighted(
            {"CARD": 55, "SEPA_DEBIT": 18, "PAYPAL": 14, "APPLE_PAY": 7, "GOOGLE_PAY": 4, "BANK_TRANSFER": 2}
        )
        due_dates = []
        first = sub["start_date"] + dt.timedelta(days=trial_days)
        if recurring:
            last = sub["end_date"] or ctx.today
            d = first
            while d <= last:
                due_dates.append(d)
                d = _add_month(d)
        elif first <= ctx.today:
            due_dates.append(first)
        for n, due in enumerate(due_dates):
            seq += 1
            is_last = n == len(due_dates) - 1
            plan = "paid"
            if status == "PAST_DUE" and is_last:
                plan = "open_failed"
            elif ctx.chance(0.06):
                plan = "failed_then_paid" if ctx.chance(0.7) else "uncollectible"
            elif ctx.chance(0.025):
                plan = "refunded"
            elif is_last and (ctx.today - due).days < 1:
                plan = "open"
            billed = amount if n == 0 else Decimal(price)
            invoices.append(
                {
                    "subscription_id": sub_id,
                    "subtotal": Decimal(price),
                    "discount_amount": Decimal(price) - billed,
                    "amount": billed,
                    "currency": currency,
                    "due_date": due,
                    "status": {
                        "paid": "PAID",
                        "failed_then_paid": "PAID",
                        "open_failed": "OPEN",
                        "open": "OPEN",
                        "uncollectible": "UNCOLLECTIBLE",
                        "refunded": "REFUNDED",
                    }[plan],
                    "paid_at": None,
                    "amount_paid": Decimal(0),
                    "amount_refunded": Decimal(0),
                    "external_reference": f"INV-{due:%Y%m}-{seq:06d}",
                }
            )
            inv_meta.append((plan, method))
    # Payment times are decided here so invoices carry the matching paid_at.
    payments: list[dict] = []
    pay_plan: list[list[dict]] = []
    for inv, (plan, method) in zip(invoices, inv_meta, strict=True):
        due_at = dt.datetime.combine(inv["due_date"], dt.time(6), tzinfo=dt.UTC) + dt.timedelta(
            minutes=ctx.rng.randint(0, 600)
        )
        due_at = min(due_at, ctx.now)
        attempts: list[dict] = []
        if plan in ("failed_then_paid", "uncollectible", "open_failed"):
            tries = 1 if plan == "failed_then_paid" else ctx.rng.randint(1, 3)
            t = due_at
            for _ in range(tries):
                attempts.append(_payment(ctx, inv, method, t, "FAILED"))
                t = min(ctx.now, t + dt.timedelta(days=3))
            if plan == "failed_then_paid":
                ok = _payment(ctx, inv, method, t, "SUCCEEDED")
                attempts.append(ok)
                inv["paid_at"] = t
        elif plan in ("paid", "refunded"):
            attempts.append(_payment(ctx, inv, method, due_at, "REFUNDED" if plan == "refunded" else "SUCCEEDED"))
            inv["paid_at"] = due_at
        if inv["status"] in ("PAID", "REFUNDED"):
            inv["amount_paid"] = inv["amount"]
            inv["amount_refunded"] = inv["amount"] if inv["status"] == "REFUNDED" else Decimal(0)
        elif plan == "open" and ctx.chance(0.5):
            attempts.append(_payment(ctx, inv, method, due_at, "PENDING"))
        pay_plan.append(attempts)
    inv_ids = ctx.ids["invoice"] = insert_returning_ids(Invoice, invoices)
    for inv_id, attempts in zip(inv_ids, pay_plan, strict=True):
        for p in attempts:
            p["invoice_id"] = inv_id
            payments.append(p)
    insert_rows(Payment, payments)
    ctx.extra["failed_payments"] = sum(1 for p in payments if p["status"] == "FAILED")


def _payment(ctx: Ctx, inv: dict, method: str, when: dt.datetime, status: str) -> dict:
    provider = cat.PROVIDERS[method]
    prefix = {"stripe": "ch_", "paypal": "PAY-", "manual": "BT-"}[provider]
    return {
        "provider": provider,
        "method": method,
        "amount": inv["amount"],
        "currency": inv["currency"],
        "status": status,
        "transaction_id": prefix + ctx.hex(24) if status != "FAILED" or ctx.chance(0.8) else None,
        "failure_reason": ctx.rng.choice(cat.FAILURE_REASONS) if status == "FAILED" else None,
        "refunded_amount": inv["amount"] if status == "REFUNDED" else Decimal(0),
        "refunded_at": when if status == "REFUNDED" else None,
        "created_at": when,
    }


def _add_month(d: dt.date) -> dt.date:
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return dt.date(year, month, min(d.day, 28))


def _next_month_day(start: dt.date, today: dt.date) -> dt.date:
    d = start
    while d <= today:
        d = _add_month(d)
    return d
