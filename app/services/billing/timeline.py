"""A subscription's timeline for the console: its dated entries, newest first.

Read from what the services wrote, so nothing is kept twice: the chained audit entries of its state
changes (``subscription.*``), its invoices (issued, paid, voided), their payments and refunds, and
its dunning steps (scheduled, attempted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.commerce import DunningStep, Invoice, Payment, PaymentStatus
from app.models.compliance import AuditLog


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of the timeline. ``kind``: state, invoice, payment, refund or dunning; ``what`` says which step."""

    at: dt.datetime
    kind: str
    what: str
    ref_id: int | None = None
    status: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def timeline(session: Session, subscription_id: int, *, limit: int = 500) -> list[Entry]:
    """The dated entries of the subscription (newest first, at most ``limit``)."""
    out: list[Entry] = []
    for log in session.scalars(
        sa.select(AuditLog)
        .where(
            AuditLog.resource_type == "subscriptions",
            AuditLog.resource_id == str(subscription_id),
            AuditLog.action.like("subscription.%"),
        )
        .order_by(AuditLog.id.desc())
        .limit(limit)
    ):
        meta = dict(log.metadata_json or {})
        at = dt.datetime.fromisoformat(meta["at"]) if isinstance(meta.get("at"), str) else log.created_at
        out.append(
            Entry(_utc(at), "state", log.action.removeprefix("subscription."), status=meta.get("to"), details=meta)
        )
    invoices = session.scalars(sa.select(Invoice).where(Invoice.subscription_id == subscription_id)).all()
    for inv in invoices:
        issued = _utc(inv.issued_at) or _midnight(inv.due_date)
        common = {"ref_id": inv.id, "amount": inv.amount, "currency": inv.currency}
        out.append(
            Entry(
                issued,
                "invoice",
                "issued",
                status=str(inv.status),
                details={
                    "reference": inv.external_reference,
                    "period_start": inv.period_start,
                    "period_end": inv.period_end,
                    "discount": inv.discount_amount,
                },
                **common,
            )
        )
        if inv.paid_at is not None:
            out.append(Entry(_utc(inv.paid_at), "invoice", "paid", status="PAID", **common))
        if inv.voided_at is not None:
            out.append(Entry(_utc(inv.voided_at), "invoice", "voided", status="VOID", **common))
    ids = [inv.id for inv in invoices]
    if ids:
        for pay in session.scalars(sa.select(Payment).where(Payment.invoice_id.in_(ids))):
            status = PaymentStatus.SUCCEEDED if pay.status == PaymentStatus.REFUNDED else pay.status
            out.append(
                Entry(
                    _utc(pay.created_at),
                    "payment",
                    str(status).lower(),
                    ref_id=pay.id,
                    status=str(status),
                    amount=pay.amount,
                    currency=pay.currency,
                    details={
                        "invoice_id": pay.invoice_id,
                        "method": str(pay.method),
                        "failure_reason": pay.failure_reason,
                    },
                )
            )
            if pay.refunded_amount > 0 and pay.refunded_at is not None:
                out.append(
                    Entry(
                        _utc(pay.refunded_at),
                        "refund",
                        "refunded",
                        ref_id=pay.id,
                        status=str(pay.status),
                        amount=pay.refunded_amount,
                        currency=pay.currency,
                        details={"invoice_id": pay.invoice_id},
                    )
                )
    for step in session.scalars(sa.select(DunningStep).where(DunningStep.subscription_id == subscription_id)):
        at = _utc(step.attempted_at) or _utc(step.scheduled_for)
        out.append(
            Entry(
                at,
                "dunning",
                f"attempt_{step.attempt}",
                ref_id=step.id,
                status=str(step.status),
                details={
                    "invoice_id": step.invoice_id,
                    "scheduled_for": _utc(step.scheduled_for),
                    "payment_id": step.payment_id,
                },
            )
        )
    out.sort(key=lambda e: (e.at, e.kind), reverse=True)
    return out[:limit]
