"""``/subscriptions`` and ``/invoices``: a customer's billing as their app and partners read it, and
the self-service changes a customer may make (pause, resume, cancel) through the billing services.

Row scope: a customer app reads its customer's own subscriptions and their invoices; a partner every
one; a coach's client holds no billing grant (coaches have none in the console). The changes go
through ``app.services.billing.subscriptions.apply_action`` (the same state machine, audit entries
and events as the console's buttons); an action the subscription's state does not allow is a 409.
Amounts are decimal strings beside their currency, never floats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.models.base import utcnow
from app.models.commerce import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from app.services.billing import subscriptions as billing
from app.services.billing.states import Action
from app.web.api.blueprint import api_bp
from app.web.api.bodies import json_body
from app.web.api.etag import ETAG_HEADER
from app.web.api.query import equals
from app.web.api.refusals import service_refusals
from app.web.api.registry import operation
from app.web.api.resource import CoachdeskModelRestApi

_ID = fields.Integer(validate=validate.Range(1, 2**31 - 1))


def _money(description: str) -> fields.Decimal:
    """A decimal string ("49.90"): exact, in the invoice currency's minor units, never a float."""
    meta = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "description": description}
    return fields.Decimal(as_string=True, required=True, metadata=meta)


class SubscriptionSchema(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.UUID(required=True)
    product_id = fields.Integer(required=True)
    status = fields.Enum(SubscriptionStatus, required=True)
    start_date = fields.Date(required=True)
    trial_end = fields.Date(allow_none=True)
    current_period_start = fields.Date(allow_none=True)
    current_period_end = fields.Date(allow_none=True, metadata={"description": "The paid period ends (exclusive)."})
    renewal_date = fields.Date(allow_none=True, metadata={"description": "The next invoice's date."})
    cancel_at_period_end = fields.Boolean(required=True)
    pause_until = fields.Date(allow_none=True, metadata={"description": "A paused subscription resumes that day."})
    end_date = fields.Date(allow_none=True)


class InvoiceSchema(Schema):
    id = fields.Integer(required=True)
    subscription_id = fields.Integer(required=True)
    reference = fields.String(attribute="external_reference", allow_none=True)
    status = fields.Enum(InvoiceStatus, required=True)
    currency = fields.String(required=True, metadata={"description": "ISO 4217, as every amount of the invoice."})
    subtotal = _money("Before the discount.")
    discount_amount = _money("The promotion's discount.")
    amount = _money("What is owed: subtotal less discount.")
    amount_paid = _money("Paid so far (partial payments add up).")
    amount_refunded = _money("Refunded so far.")
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    due_date = fields.Date(required=True)
    paid_at = fields.DateTime(allow_none=True)


class PauseSchema(Schema):
    pause_until = fields.Date(required=True, metadata={"description": "The day billing resumes (within a year)."})


class CancelSchema(Schema):
    at_period_end = fields.Boolean(
        load_default=True, metadata={"description": "True (default): at the end of the paid period; false: now."}
    )


class SubscriptionApi(CoachdeskModelRestApi):
    model = Subscription
    schema = SubscriptionSchema
    name, path, tag = "subscriptions", "/subscriptions", "Billing"
    read_scope, write_scope = "billing:read", "billing:write"
    summary_list, summary_get = "List subscriptions", "One subscription"
    order_column, descending = "created_at", True
    load_options = (lazyload("*"),)
    filters = {
        "status": equals(Subscription.status, fields.Enum(SubscriptionStatus)),
        "product_id": equals(Subscription.product_id, _ID),
    }


class InvoiceApi(CoachdeskModelRestApi):
    model = Invoice
    schema = InvoiceSchema
    name, path, tag = "invoices", "/invoices", "Billing"
    read_scope, write_scope = "billing:read", "billing:write"
    summary_list, summary_get = "List invoices", "One invoice"
    order_column, descending = "due_date", True
    load_options = (lazyload("*"),)
    filters = {
        "status": equals(Invoice.status, fields.Enum(InvoiceStatus)),
        "subscription_id": equals(Invoice.subscription_id, _ID),
    }


SubscriptionApi.register(api_bp)
InvoiceApi.register(api_bp)

_ONE = f"{SubscriptionApi.path}/<int:key>"
_RESPONSES = {200: ("The subscription as it is now, with its ETag.", SubscriptionSchema)}


def _change(key: int, action: Action, *, pause_until: dt.date | None = None) -> Any:
    SubscriptionApi.find(key, for_write=True)
    with service_refusals():
        sub = billing.get_subscription(db.session, key, lock=True)
        billing.apply_action(db.session, sub, action, now=utcnow(), pause_until=pause_until)
    db.session.commit()
    return SubscriptionApi.one_response(SubscriptionApi.find(key))


@operation(
    api_bp, f"{_ONE}/pause", "POST", endpoint="subscriptions_pause", summary="Pause a subscription",
    tag="Billing", scope="billing:write", request_schema=PauseSchema, responses=_RESPONSES,
    response_headers={200: ETAG_HEADER}, problems=(409, 413, 415, 422),
    description="An active recurring subscription stops renewing until pause_until, when it resumes by itself.",
)  # fmt: skip
def pause(key: int) -> Any:
    data = json_body(PauseSchema)
    return _change(key, Action.PAUSE, pause_until=data["pause_until"])


@operation(
    api_bp, f"{_ONE}/resume", "POST", endpoint="subscriptions_resume", summary="Resume a paused subscription",
    tag="Billing", scope="billing:write", responses=_RESPONSES, response_headers={200: ETAG_HEADER},
    problems=(409,), description="Resumes now; the next period is billed from today. Send no body.",
)  # fmt: skip
def resume(key: int) -> Any:
    return _change(key, Action.RESUME)


@operation(
    api_bp, f"{_ONE}/cancel", "POST", endpoint="subscriptions_cancel", summary="Cancel a subscription",
    tag="Billing", scope="billing:write", request_schema=CancelSchema, responses=_RESPONSES,
    response_headers={200: ETAG_HEADER}, problems=(409, 413, 415, 422),
    description="At the end of the paid period (the default), or now with at_period_end false.",
)  # fmt: skip
def cancel(key: int) -> Any:
    data = json_body(CancelSchema)
    return _change(key, Action.CANCEL_AT_PERIOD_END if data["at_period_end"] else Action.CANCEL_NOW)


__all__ = ["InvoiceApi", "SubscriptionApi"]
