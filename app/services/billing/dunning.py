"""Dunning, the schedule: a failed payment of an open invoice schedules retries and makes the subscription PAST_DUE.

Retries are due ``RETRY_DAYS`` (1, 3 and 7) days after the first failure, one ``dunning_steps`` row
each (unique per invoice and attempt, so a second failure does not schedule them again). Running the
due retries is ``retries.py``; a success or a write-off cancels the steps left.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.commerce import DunningStatus, DunningStep, Invoice, InvoiceStatus
from app.models.commerce import SubscriptionStatus as S
from app.services.billing.states import emit_about, set_status
from app.services.events import catalogue as ev

RETRY_DAYS: tuple[int, ...] = (1, 3, 7)


def start_dunning(session: Session, invoice: Invoice, failed_at: dt.datetime) -> list[DunningStep]:
    """Schedule the invoice's retries (once) and move its ACTIVE subscription to PAST_DUE."""
    if invoice.status != InvoiceStatus.OPEN:
        return []
    existing = session.scalar(sa.select(sa.func.count()).where(DunningStep.invoice_id == invoice.id))
    if existing:
        return []
    steps = [
        DunningStep(
            invoice_id=invoice.id,
            subscription_id=invoice.subscription_id,
            attempt=n,
            scheduled_for=failed_at + dt.timedelta(days=days),
            status=DunningStatus.SCHEDULED,
            created_at=failed_at,  # the service's clock, not the wall's: a replayed history reproduces
        )
        for n, days in enumerate(RETRY_DAYS, start=1)
    ]
    session.add_all(steps)
    sub = invoice.subscription
    if sub.status == S.ACTIVE:
        set_status(session, sub, S.PAST_DUE, reason="payment_failed", at=failed_at, invoice_id=invoice.id)
        emit_about(session, sub, ev.SUBSCRIPTION_PAST_DUE, invoice_id=invoice.id)
    session.flush()
    return steps


def in_dunning(session: Session, subscription_id: int, *, except_invoice: int | None = None) -> bool:
    """Whether any invoice of the subscription still has a retry scheduled."""
    query = sa.select(DunningStep.id).where(
        DunningStep.subscription_id == subscription_id, DunningStep.status == DunningStatus.SCHEDULED
    )
    if except_invoice is not None:
        query = query.where(DunningStep.invoice_id != except_invoice)
    return session.scalar(query.limit(1)) is not None
