"""What the passing of days does to subscriptions, besides renewals (the daily job's other steps).

- a paused subscription whose ``pause_until`` has come (in the customer's zone) resumes;
- one cancelled at the period's end is CANCELLED when that period ends; a one-off one whose
  ``end_date`` has passed is EXPIRED;
- open invoices that are due and were never attempted are charged through the gateway (a failure
  starts dunning).
Each is a scan of the due rows by the indexed date, then the same per-subscription services a person
uses, so the rules, audit entries and events are the console's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.commerce import Invoice, InvoiceStatus, Payment, PaymentStatus, Product, Subscription
from app.models.commerce import SubscriptionStatus as S
from app.services.billing import periods
from app.services.billing.gateway import PaymentGateway
from app.services.billing.payments import charge_invoice
from app.services.billing.subscriptions import end_now, resume

Commit = Callable[[int], None]


@dataclasses.dataclass
class LifecycleResult:
    resumed: int = 0
    cancelled: int = 0
    expired: int = 0
    charged: int = 0
    charge_failures: int = 0


def _today(session: Session, sub: Subscription, now: dt.datetime) -> dt.date:
    return periods.customer_today(session, sub.customer_id, now)


def _horizon(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date() + dt.timedelta(days=1)


def _walk(session: Session, query: sa.Select, commit: Commit | None, step: Callable[[Subscription], bool]) -> int:
    """Apply ``step`` to each subscription the query finds, in id order, committing each 200."""
    done, last_id = 0, 0
    while True:
        subs = session.scalars(query.where(Subscription.id > last_id).order_by(Subscription.id).limit(200)).all()
        if not subs:
            return done
        for sub in subs:
            last_id = sub.id
            done += 1 if step(sub) else 0
        session.flush()
        if commit is not None:
            commit(done)


def resume_due(session: Session, now: dt.datetime, commit: Commit | None = None) -> int:
    """Resume paused subscriptions whose resume date is the customer's today or earlier."""
    query = sa.select(Subscription).where(Subscription.status == S.PAUSED, Subscription.pause_until <= _horizon(now))

    def step(sub: Subscription) -> bool:
        if sub.pause_until is None or sub.pause_until > _today(session, sub, now):
            return False
        resume(session, sub, now=now, reason="pause_ended")
        return True

    return _walk(session, query, commit, step)


def end_due(session: Session, now: dt.datetime, commit: Commit | None = None) -> tuple[int, int]:
    """Cancel those set to end with their period once it ended; expire one-off ones past their end date."""
    horizon = _horizon(now)
    ending = sa.select(Subscription).where(
        Subscription.status.in_((S.ACTIVE, S.TRIAL)),
        sa.or_(
            sa.and_(Subscription.cancel_at_period_end.is_(True), Subscription.current_period_end <= horizon),
            sa.and_(
                Subscription.end_date <= horizon,
                Subscription.product_id.in_(sa.select(Product.id).where(Product.interval_months.is_(None))),
            ),
        ),
    )
    counts = {S.CANCELLED: 0, S.EXPIRED: 0}

    def step(sub: Subscription) -> bool:
        today = _today(session, sub, now)
        if sub.cancel_at_period_end and sub.current_period_end is not None and sub.current_period_end <= today:
            end_now(session, sub, S.CANCELLED, today=today, now=now, reason="period_end")
            sub.end_date, sub.cancel_at_period_end = sub.current_period_end, False
            counts[S.CANCELLED] += 1
            return True
        if sub.product.interval_months is None and sub.end_date is not None and sub.end_date <= today:
            end_now(session, sub, S.EXPIRED, today=today, now=now, reason="term_ended")
            counts[S.EXPIRED] += 1
            return True
        return False

    _walk(session, ending, commit, step)
    return counts[S.CANCELLED], counts[S.EXPIRED]


def collect_due(
    session: Session,
    gateway: PaymentGateway,
    now: dt.datetime,
    commit: Commit | None = None,
    *,
    limit: int | None = None,
) -> tuple[int, int]:
    """Charge open, due invoices with no payment attempt yet; returns (succeeded, failed)."""
    attempted = sa.select(Payment.id).where(Payment.invoice_id == Invoice.id).exists()
    query = (
        sa.select(Invoice)
        .join(Subscription, Subscription.id == Invoice.subscription_id)
        .where(
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.due_date <= now.date(),
            ~attempted,
            Subscription.status.in_((S.ACTIVE, S.PAST_DUE)),
        )
    )
    ok = failed = last_id = 0
    while limit is None or ok + failed < limit:
        invoices = session.scalars(query.where(Invoice.id > last_id).order_by(Invoice.id).limit(200)).all()
        if not invoices:
            break
        for invoice in invoices:
            last_id = invoice.id
            payment = charge_invoice(session, invoice, gateway, now=now)
            ok, failed = (ok + 1, failed) if payment.status == PaymentStatus.SUCCEEDED else (ok, failed + 1)
        session.flush()
        if commit is not None:
            commit(ok + failed)
    return ok, failed
