"""The billing pages' forms: a new subscription, a transition, a payment, a refund, an invoice action.

Field checks here only parse what a person typed; the billing services decide what is allowed and
refuse with a translated message (``BillingError``) that the pages show next to the field.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms import validators as wtv

from app.models.commerce import PaymentMethod

MAX_AMOUNT = 10**9  # Money is NUMERIC(12, 2): a larger figure is a typo, not a payment


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the templates carry the token


class NewSubscriptionForm(_Form):
    customer = StringField(_l("Customer (email)"), [wtv.InputRequired(), wtv.Length(max=320)])
    product = SelectField(_l("Product"), choices=[], coerce=str, validate_choice=True)
    start_date = DateField(_l("Start date"), [wtv.Optional()])
    promotion_code = StringField(_l("Promotion code"), [wtv.Optional(), wtv.Length(max=40)])


class TransitionForm(_Form):
    action = StringField(_l("Action"), [wtv.InputRequired(), wtv.Length(max=40)])
    pause_until = DateField(_l("Resume on"), [wtv.Optional()])


METHOD_LABELS = {
    PaymentMethod.CARD: _l("Card"),
    PaymentMethod.SEPA_DEBIT: _l("SEPA direct debit"),
    PaymentMethod.BANK_TRANSFER: _l("Bank transfer"),
    PaymentMethod.PAYPAL: _l("PayPal"),
    PaymentMethod.APPLE_PAY: _l("Apple Pay"),
    PaymentMethod.GOOGLE_PAY: _l("Google Pay"),
}


def method_choices() -> list[tuple[str, str]]:
    return [(m.value, str(METHOD_LABELS[m])) for m in PaymentMethod]


class PaymentForm(_Form):
    amount = DecimalField(_l("Amount"), [wtv.InputRequired(), wtv.NumberRange(0, MAX_AMOUNT)], places=None)
    method = SelectField(_l("Method"), choices=[], validate_choice=True)
    transaction_id = StringField(_l("Transaction id"), [wtv.Optional(), wtv.Length(max=100)])


class RefundForm(_Form):
    amount = DecimalField(_l("Amount to refund"), [wtv.Optional(), wtv.NumberRange(0, MAX_AMOUNT)], places=None)
