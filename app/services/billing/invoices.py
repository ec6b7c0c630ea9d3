"""Invoices: issue one per subscription and period, void, write off. OPEN -> PAID | VOID | UNCOLLECTIBLE.

An invoice's ``amount`` is its ``subtotal`` less ``discount_amount`` (a CHECK holds it), in the
product's currency, rounded to the currency's minor unit. PAID and REFUNDED are reached only
through ``payments`` (the paid total decides).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import _l
from app.models.commerce import DunningStatus, DunningStep, Invoice, InvoiceStatus, Subscription
from app.models.labels import lazy_enum_label
from app.services import events
from app.services.billing import money, promotions
from app.services.billing.errors import BillingError
from app.services.billing.states import audit_change
from app.services.events import catalogue as ev


def reference(sub_id: int, period_start: dt.date) -> str:
    """The invoice number: unique because one invoice exists per subscription and period."""
    return f"INV-{sub_id}-{period_start:%Y%m%d}"


def issue_invoice(
    session: Session, sub: Subscription, period_start: dt.date, period_end: dt.date | None, *, now: dt.datetime
) -> Invoice:
    """Issue the invoice of ``sub`` for ``[period_start, period_end)`` at the product's price, less an active
    promotion's discount (one of its periods used). Refused if that period already has its invoice."""
    exists = session.scalar(
        sa.select(Invoice.id).where(Invoice.subscription_id == sub.id, Invoice.period_start == period_start)
    )
    if exists is not None:
        raise BillingError(_l("This period already has its invoice."), code="already_invoiced")
    currency = sub.product.currency
    subtotal = money.quantize(sub.product.price, currency)
    discount, promotion_id = money.ZERO, None
    redemption = promotions.active_redemption(session, sub.id)
    if redemption is not None:
        discount = promotions.discount(redemption.promotion, subtotal, currency)
        promotion_id = redemption.promotion_id
        promotions.consume_period(redemption)
    amount = subtotal - discount
    invoice = Invoice(
        subscription_id=sub.id,
        subtotal=subtotal,
        discount_amount=discount,
        amount=amount,
        currency=currency,
        promotion_id=promotion_id,
        period_start=period_start,
        period_end=period_end,
        due_date=period_start,
        status=InvoiceStatus.OPEN,
        issued_at=now,
        external_reference=reference(sub.id, period_start),
        amount_paid=money.ZERO,
        amount_refunded=money.ZERO,
    )
    if amount == 0:  # nothing to collect: settled on issue
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
    session.add(invoice)
    session.flush()
    events.emit(
        session,
        ev.INVOICE_ISSUED,
        customer_id=sub.customer_id,
        invoice_id=invoice.id,
        subscription_id=sub.id,
        amount=amount,
        currency=currency,
        due_date=invoice.due_date,
    )
    return invoice


def _require_open(invoice: Invoice) -> None:
    if invoice.status != InvoiceStatus.OPEN:
        raise BillingError(
            _l(
                "Only an open invoice can be changed this way; this one is “%(status)s”.",
                status=lazy_enum_label(InvoiceStatus(invoice.status)),
            ),
            code="invoice_not_open",
        )


def void_invoice(session: Session, invoice: Invoice, *, now: dt.datetime, reason: str = "void") -> Invoice:
    """Cancel an open invoice that nothing was paid on (issued by mistake); its pending retries stop."""
    _require_open(invoice)
    if invoice.amount_paid > 0:
        raise BillingError(_l("Part of this invoice was paid: refund the payments first."), code="invoice_has_payments")
    invoice.status, invoice.voided_at = InvoiceStatus.VOID, now
    cancel_pending_steps(session, invoice.id, now)
    audit_change(session, "invoices", invoice.id, "invoice.voided", {"reason": reason})
    session.flush()
    return invoice


def mark_uncollectible(session: Session, invoice: Invoice, *, now: dt.datetime, reason: str = "manual") -> Invoice:
    """Write off an open invoice (dunning gave up, or a person decided so); its pending retries stop."""
    _require_open(invoice)
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    cancel_pending_steps(session, invoice.id, now)
    audit_change(session, "invoices", invoice.id, "invoice.uncollectible", {"reason": reason})
    events.emit(
        session,
        ev.INVOICE_UNCOLLECTIBLE,
        customer_id=invoice.subscription.customer_id,
        invoice_id=invoice.id,
        subscription_id=invoice.subscription_id,
        amount=invoice.amount,
        currency=invoice.currency,
    )
    session.flush()
    return invoice


def cancel_pending_steps(session: Session, invoice_id: int, now: dt.datetime) -> int:
    """Cancel the invoice's scheduled dunning retries (it was paid, voided or written off)."""
    steps = session.scalars(
        sa.select(DunningStep).where(
            DunningStep.invoice_id == invoice_id, DunningStep.status == DunningStatus.SCHEDULED
        )
    ).all()
    for step in steps:
        step.status = DunningStatus.CANCELLED
    return len(steps)


def outstanding(invoice: Invoice) -> Decimal:
    """What is still to pay on an open invoice (refunds are taken only from paid ones, so none count here)."""
    if invoice.status != InvoiceStatus.OPEN:
        return money.ZERO
    return max(money.ZERO, invoice.amount - invoice.amount_paid)
