"""Payments: record one (a partial one too), charge through the gateway, refund in full or in part.

The rules, each applied in the caller's one transaction:
- a payment's currency is its invoice's; a SUCCEEDED payment is at most what is outstanding, adds to
  ``amount_paid``, and when the paid total reaches ``amount`` the invoice is PAID with ``paid_at``,
  its retries are cancelled and a PAST_DUE subscription with nothing else in dunning is ACTIVE again;
- a FAILED payment of an open invoice starts dunning (``dunning.start_dunning``);
- a refund is taken from a payment of a PAID invoice: ``payment.refunded_amount`` and
  ``invoice.amount_refunded`` grow, a fully refunded payment is REFUNDED, and the invoice is REFUNDED
  once everything paid on it was refunded. So on every PAID or REFUNDED invoice, the payments that
  succeeded (status SUCCEEDED or REFUNDED) add up to ``amount_paid`` = ``amount``, and their
  ``refunded_amount`` to ``amount_refunded``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import _l
from app.models.commerce import Invoice, InvoiceStatus, Payment, PaymentMethod, PaymentStatus
from app.models.commerce import SubscriptionStatus as S
from app.models.labels import lazy_enum_label
from app.services import events
from app.services.billing import money
from app.services.billing.dunning import in_dunning, start_dunning
from app.services.billing.errors import BillingError
from app.services.billing.gateway import Charge, PaymentGateway
from app.services.billing.invoices import cancel_pending_steps, outstanding
from app.services.billing.states import audit_change, set_status
from app.services.events import catalogue as ev


def _method(value: str | PaymentMethod) -> PaymentMethod:
    try:
        return PaymentMethod(value)
    except ValueError:
        raise BillingError(_l("Unknown payment method %(method)s.", method=str(value)[:30]), field="method") from None


def record_payment(
    session: Session,
    invoice: Invoice,
    *,
    amount: object,
    currency: str,
    now: dt.datetime,
    status: PaymentStatus | str = PaymentStatus.SUCCEEDED,
    method: PaymentMethod | str = PaymentMethod.CARD,
    provider: str = "manual",
    transaction_id: str | None = None,
    failure_reason: str | None = None,
    dunning: bool = True,
) -> Payment:
    """Record a payment of ``invoice`` and apply it (see the module's rules). Refusals change nothing."""
    status = PaymentStatus(status)
    if status == PaymentStatus.REFUNDED:
        raise BillingError(_l("A refund is made from a payment, not recorded as one."), field="status")
    if (currency or "").upper() != invoice.currency:
        raise BillingError(
            _l(
                "The payment is in %(paid)s but the invoice is in %(billed)s.",
                paid=str(currency)[:3],
                billed=invoice.currency,
            ),
            field="currency",
            code="currency_mismatch",
        )
    value = money.parse_amount(amount, invoice.currency)
    method = _method(method)
    if status != PaymentStatus.FAILED:
        if invoice.status != InvoiceStatus.OPEN:
            raise BillingError(
                _l(
                    "This invoice is “%(status)s”: it takes no payment.",
                    status=lazy_enum_label(InvoiceStatus(invoice.status)),
                ),
                code="invoice_not_open",
            )
        if value <= 0 or value > outstanding(invoice):
            raise BillingError(
                _l(
                    "A payment must be more than zero and at most the %(due)s %(currency)s still due.",
                    due=str(outstanding(invoice)),
                    currency=invoice.currency,
                ),
                field="amount",
            )
    payment = Payment(
        invoice_id=invoice.id,
        provider=provider[:50],
        method=method,
        amount=value,
        currency=invoice.currency,
        status=status,
        transaction_id=transaction_id,
        failure_reason=(failure_reason or None) and failure_reason[:200],
        created_at=now,
    )
    session.add(payment)
    session.flush()
    customer = invoice.subscription.customer_id
    common = {"payment_id": payment.id, "invoice_id": invoice.id, "amount": value, "currency": invoice.currency}
    if status == PaymentStatus.SUCCEEDED:
        events.emit(session, ev.PAYMENT_SUCCEEDED, customer_id=customer, method=method, **common)
        invoice.amount_paid = invoice.amount_paid + value
        if invoice.amount_paid >= invoice.amount:
            _settle(session, invoice, now)
    elif status == PaymentStatus.FAILED:
        events.emit(session, ev.PAYMENT_FAILED, customer_id=customer, method=method, **common)
        if dunning:
            start_dunning(session, invoice, now)
    session.flush()
    return payment


def _settle(session: Session, invoice: Invoice, now: dt.datetime) -> None:
    invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
    cancel_pending_steps(session, invoice.id, now)
    audit_change(session, "invoices", invoice.id, "invoice.paid", {"amount": str(invoice.amount)})
    sub = invoice.subscription
    events.emit(
        session,
        ev.INVOICE_PAID,
        customer_id=sub.customer_id,
        invoice_id=invoice.id,
        subscription_id=sub.id,
        amount=invoice.amount,
        currency=invoice.currency,
    )
    if sub.status == S.PAST_DUE and not in_dunning(session, sub.id, except_invoice=invoice.id):
        set_status(session, sub, S.ACTIVE, reason="payment_recovered", at=now, invoice_id=invoice.id)


def charge_invoice(
    session: Session,
    invoice: Invoice,
    gateway: PaymentGateway,
    *,
    now: dt.datetime,
    method: PaymentMethod | str | None = None,
    attempt: int = 1,
    dunning: bool = True,
) -> Payment:
    """Ask the gateway for what is outstanding and record the outcome (SUCCEEDED, or FAILED with its reason)."""
    due = outstanding(invoice)
    if due <= 0:
        raise BillingError(_l("Nothing is due on this invoice."), code="nothing_due")
    method = _method(method or last_method(session, invoice.id))
    result = gateway.charge(Charge(invoice.id, due, invoice.currency, str(method), attempt))
    return record_payment(
        session,
        invoice,
        amount=due,
        currency=invoice.currency,
        now=now,
        method=method,
        provider=gateway.provider,
        status=PaymentStatus.SUCCEEDED if result.succeeded else PaymentStatus.FAILED,
        transaction_id=result.transaction_id,
        failure_reason=result.failure_reason,
        dunning=dunning,
    )


def last_method(session: Session, invoice_id: int) -> PaymentMethod:
    """The method of the latest payment attempt on the invoice, else on its subscription (retries and
    renewals are charged the way the customer last paid), else CARD."""
    sub_id = sa.select(Invoice.subscription_id).where(Invoice.id == invoice_id).scalar_subquery()
    found = session.scalar(
        sa.select(Payment.method)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.subscription_id == sub_id)
        .order_by((Payment.invoice_id == invoice_id).desc(), Payment.id.desc())
        .limit(1)
    )
    return PaymentMethod(found) if found else PaymentMethod.CARD


def refund_payment(
    session: Session,
    payment: Payment,
    *,
    now: dt.datetime,
    amount: object | None = None,
    gateway: PaymentGateway | None = None,
    reason: str = "requested",
) -> Payment:
    """Refund ``amount`` (default: all that is left) of a succeeded payment of a PAID invoice."""
    invoice = payment.invoice
    if payment.status != PaymentStatus.SUCCEEDED or invoice.status != InvoiceStatus.PAID:
        raise BillingError(_l("Only a succeeded payment of a paid invoice can be refunded."), code="not_refundable")
    left = payment.amount - payment.refunded_amount
    value = left if amount is None else money.parse_amount(amount, payment.currency)
    if value <= 0 or value > left:
        raise BillingError(
            _l(
                "A refund must be more than zero and at most the %(left)s %(currency)s not yet refunded.",
                left=str(left),
                currency=payment.currency,
            ),
            field="amount",
        )
    if gateway is not None and not gateway.refund(payment.transaction_id, value, payment.currency):
        raise BillingError(_l("The payment provider refused the refund."), code="gateway_refused")
    payment.refunded_amount = payment.refunded_amount + value
    payment.refunded_at = now
    if payment.refunded_amount == payment.amount:
        payment.status = PaymentStatus.REFUNDED
    invoice.amount_refunded = invoice.amount_refunded + value
    if invoice.amount_refunded >= invoice.amount_paid:
        invoice.status = InvoiceStatus.REFUNDED
    audit_change(
        session,
        "payments",
        payment.id,
        "payment.refunded",
        {"amount": str(value), "invoice_id": invoice.id, "reason": reason[:100]},
    )
    events.emit(
        session,
        ev.PAYMENT_REFUNDED,
        customer_id=invoice.subscription.customer_id,
        payment_id=payment.id,
        invoice_id=invoice.id,
        amount=value,
        currency=payment.currency,
    )
    session.flush()
    return payment
