"""Dunning, the retries: each due step charges the invoice again through the gateway.

Success: the invoice is PAID (the payment rules cancel the steps left and bring the subscription
back to ACTIVE). Failure: the step is FAILED; after the last one the invoice is UNCOLLECTIBLE and the
subscription CANCELLED. A step is claimed by moving it out of SCHEDULED, so two runs cannot both charge.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.commerce import DunningStatus, DunningStep, InvoiceStatus, PaymentStatus
from app.models.commerce import SubscriptionStatus as S
from app.services.billing.dunning import RETRY_DAYS
from app.services.billing.gateway import PaymentGateway
from app.services.billing.invoices import mark_uncollectible
from app.services.billing.payments import charge_invoice
from app.services.billing.states import emit_about, set_status
from app.services.events import catalogue as ev


@dataclasses.dataclass
class RetryResult:
    attempted: int = 0
    recovered: int = 0
    failed: int = 0
    cancelled_subscriptions: int = 0


def due_steps(session: Session, now: dt.datetime, limit: int = 500) -> list[DunningStep]:
    return list(
        session.scalars(
            sa.select(DunningStep)
            .where(DunningStep.status == DunningStatus.SCHEDULED, DunningStep.scheduled_for <= now)
            .order_by(DunningStep.scheduled_for, DunningStep.id)
            .limit(limit)
        )
    )


def run_step(session: Session, step: DunningStep, gateway: PaymentGateway, now: dt.datetime) -> bool | None:
    """Attempt one retry; True recovered, False failed, None skipped (its invoice is no longer open)."""
    claimed = session.execute(
        sa.update(DunningStep)
        .where(DunningStep.id == step.id, DunningStep.status == DunningStatus.SCHEDULED)
        .values(status=DunningStatus.FAILED, attempted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(step)
    if claimed != 1:
        return None
    invoice = step.invoice
    if invoice.status != InvoiceStatus.OPEN:
        step.status, step.attempted_at = DunningStatus.CANCELLED, None
        return None
    payment = charge_invoice(session, invoice, gateway, now=now, attempt=step.attempt + 1, dunning=False)
    step.payment_id = payment.id
    if payment.status == PaymentStatus.SUCCEEDED:
        step.status = DunningStatus.SUCCEEDED
        return True
    if step.attempt >= len(RETRY_DAYS):
        _give_up(session, step, now)
    session.flush()
    return False


def _give_up(session: Session, step: DunningStep, now: dt.datetime) -> None:
    invoice = step.invoice
    mark_uncollectible(session, invoice, now=now, reason="dunning_exhausted")
    sub = invoice.subscription
    if sub.status == S.PAST_DUE:
        set_status(session, sub, S.CANCELLED, reason="dunning_exhausted", at=now, invoice_id=invoice.id)
        sub.cancelled_at, sub.end_date = now, max(sub.start_date, now.date())
        sub.renewal_date, sub.cancel_at_period_end = None, False
        emit_about(session, sub, ev.SUBSCRIPTION_CANCELLED, end_date=sub.end_date)


def run_due_retries(
    session: Session,
    gateway: PaymentGateway,
    now: dt.datetime,
    *,
    commit: Callable[[int], None] | None = None,
    batch: int = 200,
) -> RetryResult:
    """Run every retry due at ``now``, ``batch`` at a time (``commit(done)`` after each, if given)."""
    result = RetryResult()
    while True:
        steps = due_steps(session, now, batch)
        if not steps:
            return result
        for step in steps:
            outcome = run_step(session, step, gateway, now)
            if outcome is None:
                continue
            result.attempted += 1
            if outcome:
                result.recovered += 1
            else:
                result.failed += 1
                if step.attempt >= len(RETRY_DAYS):
                    result.cancelled_subscriptions += 1
        session.flush()
        if commit is not None:
            commit(result.attempted)
