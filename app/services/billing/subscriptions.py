"""A subscription's life through a person's (or the demo's) hands: create, pause, resume, cancel, reactivate.

Each checks the transition against ``states.allowed_transitions`` first (so the console's buttons and
these refusals agree), flushes, audits the change and emits its domain event; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import _l
from app.models.commerce import Invoice, Product, Subscription
from app.models.commerce import SubscriptionStatus as S
from app.models.identity import PlatformUser
from app.services import events
from app.services.billing import periods, promotions
from app.services.billing.errors import BillingError, NotFound
from app.services.billing.invoices import issue_invoice
from app.services.billing.states import Action, audit_change, check_action, emit_about, set_status
from app.services.events import catalogue as ev


def get_subscription(session: Session, sub_id: int, *, lock: bool = False) -> Subscription:
    query = sa.select(Subscription).where(Subscription.id == sub_id)
    sub = session.scalar(query.with_for_update(of=Subscription.__table__) if lock else query)
    if sub is None:
        raise NotFound(_l("No subscription #%(id)s.", id=sub_id))
    return sub


def create_subscription(
    session: Session,
    customer_id: uuid.UUID,
    product_id: int,
    *,
    now: dt.datetime,
    start_date: dt.date | None = None,
    promotion_code: str | None = None,
) -> tuple[Subscription, Invoice | None]:
    """Subscribe the customer to the product from ``start_date`` (default: the customer's today).

    A product with trial days starts in TRIAL with no invoice (the renewal at ``trial_end`` bills the
    first period); otherwise ACTIVE with the first period's invoice issued. A one-off product
    (no ``interval_months``) has one period of ``duration_weeks`` (4 if unset) and ends with it.
    A promotion code is validated and redeemed first, so its discount is on the first invoice.
    """
    product = session.get(Product, product_id)
    if product is None:
        raise BillingError(_l("No such product."), field="product_id")
    if session.get(PlatformUser, customer_id) is None:
        raise BillingError(_l("No such customer."), field="customer_id")
    start = start_date or periods.customer_today(session, customer_id, now)
    promotion = None
    if promotion_code:
        promotion = promotions.find_promotion(session, promotion_code, on=start, currency=product.currency)
    sub = Subscription(
        customer_id=customer_id,
        product_id=product.id,
        start_date=start,
        created_at=now,
        billing_anchor_day=start.day,
        cancel_at_period_end=False,
    )
    sub.product = product
    if product.interval_months is None:
        end = start + dt.timedelta(weeks=product.duration_weeks or 4)
        sub.status, sub.current_period_start, sub.current_period_end, sub.end_date = S.ACTIVE, start, end, end
    elif product.trial_days:
        trial_end = start + dt.timedelta(days=product.trial_days)
        sub.status, sub.trial_end = S.TRIAL, trial_end
        sub.current_period_start, sub.current_period_end = start, trial_end
        sub.renewal_date, sub.billing_anchor_day = trial_end, trial_end.day
    else:
        _, end = periods.period_after(start, product.interval_months, start.day)
        sub.status, sub.current_period_start, sub.current_period_end, sub.renewal_date = S.ACTIVE, start, end, end
    session.add(sub)
    session.flush()
    if promotion is not None:
        promotions.redeem(session, promotion, sub, now)
    invoice = None
    if sub.status == S.ACTIVE:
        invoice = issue_invoice(session, sub, sub.current_period_start, sub.current_period_end, now=now)
    audit_change(
        session,
        "subscriptions",
        sub.id,
        "subscription.status",
        {
            "from": None,
            "to": str(sub.status),
            "reason": "created",
            "at": now.isoformat(),
            "promotion": promotion.code if promotion else None,
        },
    )
    events.emit(
        session,
        ev.SUBSCRIPTION_CREATED,
        customer_id=customer_id,
        subscription_id=sub.id,
        product_id=product.id,
        status=sub.status,
        start_date=start,
    )
    return sub, invoice


def pause(session: Session, sub: Subscription, *, until: dt.date, now: dt.datetime) -> Subscription:
    """Pause an active subscription until ``until`` (the daily job resumes it that day); no renewal meanwhile."""
    today = periods.customer_today(session, sub.customer_id, now)
    check_action(sub, Action.PAUSE, today)
    if until <= today or until > today + dt.timedelta(days=366):
        raise BillingError(_l("The resume date must be after today and within a year."), field="pause_until")
    set_status(session, sub, S.PAUSED, reason="paused", at=now, pause_until=until.isoformat())
    sub.paused_at, sub.pause_until = now, until
    emit_about(session, sub, ev.SUBSCRIPTION_PAUSED, pause_until=until)
    session.flush()
    return sub


def resume(session: Session, sub: Subscription, *, now: dt.datetime, reason: str = "resumed") -> Subscription:
    """Make a paused subscription active again. A renewal that fell in the pause is billed from today,
    which becomes the anchor day: a pause is not billed."""
    today = periods.customer_today(session, sub.customer_id, now)
    check_action(sub, Action.RESUME, today)
    set_status(session, sub, S.ACTIVE, reason=reason, at=now)
    if sub.renewal_date is not None and sub.renewal_date < today:
        sub.renewal_date, sub.billing_anchor_day = today, today.day
    sub.paused_at, sub.pause_until = None, None
    emit_about(session, sub, ev.SUBSCRIPTION_RESUMED, renewal_date=sub.renewal_date)
    session.flush()
    return sub


def cancel(session: Session, sub: Subscription, *, now: dt.datetime, at_period_end: bool = False) -> Subscription:
    """Cancel now (CANCELLED, ends today, open invoices stay as they are) or at the period's end
    (stays as it is, is not renewed, and the daily job ends it then)."""
    today = periods.customer_today(session, sub.customer_id, now)
    if at_period_end:
        check_action(sub, Action.CANCEL_AT_PERIOD_END, today)
        sub.cancel_at_period_end = True
        audit_change(
            session,
            "subscriptions",
            sub.id,
            "subscription.cancel_scheduled",
            {"at": now.isoformat(), "end_date": str(sub.current_period_end)},
        )
        emit_about(session, sub, ev.SUBSCRIPTION_CANCELLED, end_date=sub.current_period_end)
    else:
        check_action(sub, Action.CANCEL_NOW, today)
        end_now(session, sub, S.CANCELLED, today=today, now=now, reason="cancelled")
    session.flush()
    return sub


def end_now(session: Session, sub: Subscription, status: S, *, today: dt.date, now: dt.datetime, reason: str) -> None:
    """End the subscription today as CANCELLED or EXPIRED, with its event."""
    set_status(session, sub, status, reason=reason, at=now)
    sub.end_date = max(sub.start_date, min(today, sub.end_date or today))
    sub.renewal_date, sub.pause_until = None, None
    if status == S.CANCELLED:
        sub.cancelled_at = now
        # A reactivation within the paid period continues it: keep its end as the day service stops.
        if sub.current_period_end is not None and sub.current_period_end > today:
            sub.end_date = sub.current_period_end
        emit_about(session, sub, ev.SUBSCRIPTION_CANCELLED, end_date=sub.end_date)
    else:
        emit_about(session, sub, ev.SUBSCRIPTION_EXPIRED, end_date=sub.end_date)


def reactivate(session: Session, sub: Subscription, *, now: dt.datetime) -> Subscription:
    """Withdraw a cancellation: one scheduled for the period's end, or one made while the period still runs."""
    today = periods.customer_today(session, sub.customer_id, now)
    check_action(sub, Action.REACTIVATE, today)
    if sub.cancel_at_period_end:
        sub.cancel_at_period_end = False
        audit_change(session, "subscriptions", sub.id, "subscription.cancel_withdrawn", {"at": now.isoformat()})
    else:
        set_status(session, sub, S.ACTIVE, reason="reactivated", at=now)
        sub.cancelled_at, sub.end_date, sub.renewal_date = None, None, sub.current_period_end
    emit_about(session, sub, ev.SUBSCRIPTION_REACTIVATED)
    session.flush()
    return sub


def apply_action(
    session: Session, sub: Subscription, action: Action | str, *, now: dt.datetime, pause_until: dt.date | None = None
) -> Subscription:
    """One entry point for the console's transition buttons."""
    try:
        action = Action(action)
    except ValueError:
        raise BillingError(_l("Unknown action."), field="action") from None
    if action == Action.PAUSE:
        if pause_until is None:
            raise BillingError(_l("A resume date is required."), field="pause_until")
        return pause(session, sub, until=pause_until, now=now)
    if action == Action.RESUME:
        return resume(session, sub, now=now)
    if action in (Action.CANCEL_NOW, Action.CANCEL_AT_PERIOD_END):
        return cancel(session, sub, now=now, at_period_end=action == Action.CANCEL_AT_PERIOD_END)
    return reactivate(session, sub, now=now)
