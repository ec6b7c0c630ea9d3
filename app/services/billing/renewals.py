"""Renewals in bulk: every due subscription gets its next period and that period's invoice, set-based.

Due: ACTIVE or TRIAL, recurring, not ending at the period's end, ``renewal_date`` on or before the
customer's today in their own zone. A batch is a few statements whatever its size: one SELECT of the
subscriptions (with product, zone and active promotion), one INSERT of the invoices with
``ON CONFLICT (subscription_id, period_start) DO NOTHING`` (the unique key makes a second run, or a
concurrent one, issue nothing twice), one UPDATE of the subscriptions guarded by their old
``renewal_date``, one of the redemptions, the outbox rows (``emit_many``) and the chained audit
entries. A subscription many periods behind is caught up period by period, one invoice each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from app.models.commerce import Invoice, InvoiceStatus, Product, Promotion, PromotionRedemption, Subscription
from app.models.commerce import SubscriptionStatus as S
from app.models.customers import CustomerProfile
from app.services import events
from app.services.audit import chain as audit
from app.services.billing import money, periods
from app.services.billing.invoices import reference
from app.services.billing.promotions import compute_discount
from app.services.events import catalogue as ev

MAX_CATCH_UP = 36  # periods issued for one subscription in one run (a subscription years behind is a data error)


@dataclasses.dataclass
class RenewalResult:
    renewed: int = 0
    invoices: int = 0
    trials_ended: int = 0
    batches: int = 0


def due_filter(horizon: dt.date) -> sa.ColumnElement[bool]:
    return sa.and_(
        Subscription.status.in_((S.ACTIVE, S.TRIAL)),
        Subscription.renewal_date <= horizon,
        Subscription.cancel_at_period_end.is_(False),
    )


def count_due(session: Session, now: dt.datetime) -> int:
    """Subscriptions with a renewal date up to tomorrow (UTC): the progress total (an upper bound)."""
    return session.scalar(sa.select(sa.func.count()).select_from(Subscription).where(due_filter(_horizon(now)))) or 0


def _horizon(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date() + dt.timedelta(days=1)  # the furthest local date anywhere (UTC+14)


def renew_due(
    session: Session,
    now: dt.datetime,
    *,
    batch_size: int = 2000,
    commit: Callable[[RenewalResult], None] | None = None,
) -> RenewalResult:
    """Renew everything due at ``now``; ``commit(result)`` after each batch (the job commits there)."""
    result, last_id = RenewalResult(), 0
    zones: dict[str | None, Any] = {}
    while True:
        rows = session.execute(
            sa.select(
                Subscription.id,
                Subscription.customer_id,
                Subscription.status,
                Subscription.renewal_date,
                Subscription.billing_anchor_day,
                Product.price,
                Product.currency,
                Product.interval_months,
                CustomerProfile.timezone,
            )
            .join(Product, Product.id == Subscription.product_id)
            .outerjoin(CustomerProfile, CustomerProfile.user_id == Subscription.customer_id)
            .where(due_filter(_horizon(now)), Product.interval_months.is_not(None), Subscription.id > last_id)
            .order_by(Subscription.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return result
        last_id = rows[-1].id
        due = []
        for row in rows:
            tz = zones.get(row.timezone) or zones.setdefault(row.timezone, periods.zone(row.timezone))
            today = periods.local_today(tz, now)
            if row.renewal_date <= today:
                due.append((row, today))
        if due:
            _renew_batch(session, due, now, result)
        result.batches += 1
        session.flush()
        session.expire_all()  # ORM objects loaded before are stale after the Core writes
        if commit is not None:
            commit(result)


def _redemptions(session: Session, sub_ids: list[int]) -> dict[int, Any]:
    rows = session.execute(
        sa.select(
            PromotionRedemption.id,
            PromotionRedemption.subscription_id,
            PromotionRedemption.periods_remaining,
            PromotionRedemption.promotion_id,
            Promotion.discount_type,
            Promotion.value,
            Promotion.currency,
        )
        .join(Promotion, Promotion.id == PromotionRedemption.promotion_id)
        .where(PromotionRedemption.subscription_id.in_(sub_ids))
        .where(sa.or_(PromotionRedemption.periods_remaining.is_(None), PromotionRedemption.periods_remaining > 0))
        .order_by(PromotionRedemption.id)
    ).all()
    out: dict[int, Any] = {}
    for row in rows:
        out.setdefault(row.subscription_id, row)
    return out


def _renew_batch(session: Session, due: list[tuple[Any, dt.date]], now: dt.datetime, result: RenewalResult) -> None:
    promos = _redemptions(session, [row.id for row, _ in due])
    invoices: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    remaining: dict[int, int] = {}
    for row, today in due:
        anchor = row.billing_anchor_day or row.renewal_date.day
        promo = promos.get(row.id)
        left = None if promo is None else promo.periods_remaining
        subtotal = money.quantize(row.price, row.currency)
        start = row.renewal_date
        for _ in range(MAX_CATCH_UP):
            _, end = periods.period_after(start, row.interval_months, anchor)
            discount = Decimal(0)
            if promo is not None and (left is None or left > 0):
                discount = compute_discount(promo.discount_type, promo.value, promo.currency, subtotal, row.currency)
                left = None if left is None else left - 1
            invoices.append(_invoice_row(row, start, end, subtotal, discount, promo, now))
            period = (start, end)
            start = end
            if start > today:
                break
        subs.append(
            {
                "b_id": row.id,
                "b_old": row.renewal_date,
                "status": S.ACTIVE.value,
                "cps": period[0],
                "cpe": period[1],
                "renewal": period[1],
                "anchor": anchor,
                "customer": row.customer_id,
                "was_trial": row.status == S.TRIAL,
            }
        )
        if promo is not None and promo.periods_remaining is not None:
            remaining[promo.id] = left
    inserted = _insert_invoices(session, invoices)
    updated = _update_subscriptions(session, subs)
    if remaining:
        table = PromotionRedemption.__table__
        session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(periods_remaining=sa.bindparam("b_left")),
            [{"b_id": k, "b_left": v} for k, v in remaining.items()],
        )
    done = [s for s in subs if s["b_id"] in updated]
    by_sub = {s["b_id"]: s for s in done}
    events.emit_many(
        session,
        ev.SUBSCRIPTION_RENEWED,
        [
            (
                s["customer"],
                {"subscription_id": s["b_id"], "product_id": updated[s["b_id"]], "renewal_date": s["renewal"]},
            )
            for s in done
        ],
    )
    events.emit_many(
        session,
        ev.INVOICE_ISSUED,
        [
            (
                by_sub[i.subscription_id]["customer"],
                {
                    "invoice_id": i.id,
                    "subscription_id": i.subscription_id,
                    "amount": i.amount,
                    "currency": i.currency,
                    "due_date": i.due_date,
                },
            )
            for i in inserted
            if i.subscription_id in by_sub
        ],
    )
    # One chained entry per batch (the invoices are the per-subscription record, as metric ingest does),
    # plus one per subscription whose status changed (a trial ended), which its timeline shows.
    at = now.isoformat()
    entries: list[dict[str, Any]] = []
    if done:
        ids = [s["b_id"] for s in done]
        entries.append(
            {
                "action": "subscription.renewed",
                "resource_type": "subscriptions",
                "resource_id": None,
                "metadata_json": {"at": at, "count": len(done), "subscription_ids": ids},
            }
        )
    entries += [
        {
            "action": "subscription.status",
            "resource_type": "subscriptions",
            "resource_id": str(s["b_id"]),
            "metadata_json": {
                "from": S.TRIAL.value,
                "to": S.ACTIVE.value,
                "reason": "trial_ended",
                "at": at,
                "period_start": str(s["cps"]),
                "period_end": str(s["cpe"]),
            },
        }
        for s in done
        if s["was_trial"]
    ]
    audit.append(session.connection(), entries)
    result.renewed += len(done)
    result.invoices += len(inserted)
    result.trials_ended += sum(1 for s in done if s["was_trial"])


def _invoice_row(
    row: Any, start: dt.date, end: dt.date, subtotal: Decimal, discount: Decimal, promo: Any, now: dt.datetime
) -> dict[str, Any]:
    amount = subtotal - discount
    return {
        "subscription_id": row.id,
        "subtotal": subtotal,
        "discount_amount": discount,
        "amount": amount,
        "currency": row.currency,
        "promotion_id": promo.promotion_id if discount > 0 else None,
        "period_start": start,
        "period_end": end,
        "due_date": start,
        "issued_at": now,
        "status": (InvoiceStatus.PAID if amount == 0 else InvoiceStatus.OPEN).value,
        "paid_at": now if amount == 0 else None,
        "external_reference": reference(row.id, start),
        "amount_paid": Decimal(0),
        "amount_refunded": Decimal(0),
    }


_PG_INSERT = sa.text(
    "INSERT INTO invoices (subscription_id, subtotal, discount_amount, amount, currency, promotion_id, period_start, "
    "period_end, due_date, issued_at, status, paid_at, external_reference, amount_paid, amount_refunded) "
    "SELECT t.subscription_id, t.subtotal, t.discount_amount, t.amount, t.currency, t.promotion_id, t.period_start, "
    "t.period_end, t.due_date, t.issued_at, t.status, t.paid_at, t.external_reference, t.amount_paid, "
    "t.amount_refunded FROM json_to_recordset(CAST(:rows AS json)) AS t(subscription_id int, subtotal numeric, "
    "discount_amount numeric, amount numeric, currency text, promotion_id int, period_start date, period_end date, "
    "due_date date, issued_at timestamptz, status text, paid_at timestamptz, external_reference text, "
    "amount_paid numeric, amount_refunded numeric) ON CONFLICT (subscription_id, period_start) DO NOTHING "
    "RETURNING id, subscription_id, amount, currency, due_date"
)


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal | dt.date) else value  # datetimes are dates too: ISO text


def _insert_invoices(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the invoices, skipping any whose period is already invoiced; the inserted ones come back."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # One JSON document, one statement text: no thousands of placeholders to parse and plan.
        doc = json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows])
        return list(conn.execute(_PG_INSERT, {"rows": doc}).all())
    table = Invoice.__table__
    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["subscription_id", "period_start"])
    returning = stmt.returning(table.c.id, table.c.subscription_id, table.c.amount, table.c.currency, table.c.due_date)
    inserted = (conn.execute(returning.values(row)).one_or_none() for row in rows)
    return [row for row in inserted if row is not None]


_PG_UPDATE = sa.text(
    "UPDATE subscriptions AS s SET status = t.status, current_period_start = t.cps, current_period_end = t.cpe, "
    "renewal_date = t.renewal, billing_anchor_day = t.anchor "
    "FROM json_to_recordset(CAST(:rows AS json)) AS t(b_id int, b_old date, status text, cps date, cpe date, "
    "renewal date, anchor int) WHERE s.id = t.b_id AND s.renewal_date = t.b_old "
    "AND s.status IN ('ACTIVE', 'TRIAL') RETURNING s.id, s.product_id"
)


def _update_subscriptions(session: Session, subs: list[dict[str, Any]]) -> dict[int, int]:
    """Advance each subscription unless someone else did (its renewal date moved): {id: product id} updated."""
    if not subs:
        return {}
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        doc = json.dumps(
            [
                {
                    k: (str(v) if isinstance(v, dt.date) else v)
                    for k, v in s.items()
                    if k not in ("customer", "was_trial")
                }
                for s in subs
            ]
        )
        return {r.id: r.product_id for r in conn.execute(_PG_UPDATE, {"rows": doc})}
    table = Subscription.__table__
    out: dict[int, int] = {}
    stmt = (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("b_id"),
            table.c.renewal_date == sa.bindparam("b_old"),
            table.c.status.in_((S.ACTIVE.value, S.TRIAL.value)),
        )
        .values(
            status=sa.bindparam("status"),
            current_period_start=sa.bindparam("cps"),
            current_period_end=sa.bindparam("cpe"),
            renewal_date=sa.bindparam("renewal"),
            billing_anchor_day=sa.bindparam("anchor"),
        )
        .returning(table.c.id, table.c.product_id)
    )
    for s in subs:
        row = conn.execute(stmt, {k: v for k, v in s.items() if k not in ("customer", "was_trial")}).first()
        if row is not None:
            out[row.id] = row.product_id
    return out
